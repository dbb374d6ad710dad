#!/usr/bin/env bash
# sync-secrets-to-ssm.sh: the platform's release step before the action (MIGRATING.md), kept as it is so the
# benchmark measures what pipelines run today: one `aws ssm put-parameter --overwrite` per secret on every run
# (aws CLI v1, default legacy retry mode: 5 attempts), then force-sync and `kubectl wait`.
#
# Environment: SECRET_NAMES (space separated) and one variable per name holding its value, ENV, SERVICE,
# NAMESPACE, KUBECONFIG, and SSM_ENDPOINT (a local endpoint; empty for AWS). Each part is skipped when its
# input is empty, like the action's phases.
set -euo pipefail

for name in ${SECRET_NAMES:-}; do
  key="$(echo "$name" | tr '[:upper:]' '[:lower:]')"
  case "$key" in *-*) echo "hyphen in $name" >&2; exit 1 ;; esac
  aws ssm put-parameter ${SSM_ENDPOINT:+--endpoint-url "$SSM_ENDPOINT"} --name "/zerotouch/$ENV/$SERVICE/$key" --type SecureString \
    --value "${!name}" --overwrite
done

if [ -n "${NAMESPACE:-}" ]; then
  kubectl annotate externalsecret -n "$NAMESPACE" -l zerotouch.io/managed=true \
    force-sync=$(date +%s) --overwrite
  kubectl wait --for=condition=Ready externalsecret -n "$NAMESPACE" -l zerotouch.io/managed=true --timeout=300s
fi
