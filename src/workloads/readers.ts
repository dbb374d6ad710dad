import { podTemplateOf, type Container, type Volume, type Workload } from './model.js'

/**
 * Which Secrets a workload's pods read, and whether stakater/Reloader restarts the workload when one
 * of them changes (so the action does not restart it a second time). Pure: decided from the workload
 * alone, never from a Secret.
 */

/**
 * The names of the Secrets the pod template reads: through `envFrom[].secretRef`,
 * `env[].valueFrom.secretKeyRef` (in containers and init containers; ephemeral containers are never
 * in a template), `volumes[].secret` and `volumes[].projected.sources[].secret`. Optional references
 * count: once the Secret exists, the pods read it.
 */
export function secretsRead(workload: Workload): ReadonlySet<string> {
  return new Set([...containersOf(workload).flatMap(envSecrets), ...volumesOf(workload).flatMap(volumeSecrets)])
}

function containersOf(workload: Workload): readonly Container[] {
  const spec = podTemplateOf(workload).spec
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]
}

function volumesOf(workload: Workload): readonly Volume[] {
  return podTemplateOf(workload).spec?.volumes ?? []
}

function envSecrets(container: Container): string[] {
  return [
    ...(container.envFrom ?? []).map((source) => source.secretRef?.name),
    ...(container.env ?? []).map((variable) => variable.valueFrom?.secretKeyRef?.name)
  ].filter(isName)
}

function volumeSecrets(volume: Volume): string[] {
  return [volume.secret?.secretName, ...(volume.projected?.sources ?? []).map((source) => source.secret?.name)].filter(
    isName
  )
}

/** A reference may leave its name out (the API allows it); it then names no Secret. */
function isName(name: string | undefined): name is string {
  return name !== undefined && name !== ''
}

/** Reloader's default annotation keys (internal/pkg/options/flags.go). */
const AUTO = 'reloader.stakater.com/auto'
const SECRET_AUTO = 'secret.reloader.stakater.com/auto'
const SECRET_RELOAD = 'secret.reloader.stakater.com/reload'
const SEARCH = 'reloader.stakater.com/search'
const SECRETS_EXCLUDE = 'secrets.exclude.reloader.stakater.com/reload'
/** On the Secret: Reloader leaves every workload alone for it (`== "true"`), or a search-mode workload takes it. */
const IGNORE = 'reloader.stakater.com/ignore'
const MATCH = 'reloader.stakater.com/match'

/** Any of these on the workload's own metadata makes Reloader ignore the pod template's annotations. */
const OPT_IN = [SECRET_RELOAD, AUTO, SECRET_AUTO, SEARCH]

/** What Go's strconv.ParseBool reads as true; anything else (an error included) is false. */
const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])

/**
 * Whether stakater/Reloader restarts the workload when the Secret `secretName` changes, as its
 * ShouldReload (pkg/common/common.go) and getContainerUsingResource (internal/pkg/handler/upgrade.go)
 * decide for a Secret, whose annotations (`secretAnnotations`, from its metadata) it reads too:
 * - never when the Secret says `reloader.stakater.com/ignore: "true"`;
 * - never when the workload's own `secrets.exclude.reloader.stakater.com/reload` lists the name;
 * - the annotations are the workload's own when they hold any opt-in key, else its pod template's
 *   (one place or the other, never both);
 * - `secret.reloader.stakater.com/reload` naming it (see reloadPatterns) restarts it, read or not;
 * - `reloader.stakater.com/auto` or `secret.reloader.stakater.com/auto` true, or search mode
 *   (`reloader.stakater.com/search: "true"` with `reloader.stakater.com/match: "true"` on the Secret),
 *   restarts it when the pods use the Secret as Reloader sees use (see usedAsReloaderSees).
 * Out of scope, since the action does not see Reloader's own settings: its flags (`--auto-reload-all`,
 * ignored resources, namespace and resource selectors, renamed annotations). Whether the data's SHA1
 * changed is the rollout's business (workloads/plan.ts).
 * The same rules hold for a Rollout: Reloader handles Rollouts with the same annotations when it runs with
 * `--is-Argo-Rollouts=true` (internal/pkg/handler/upgrade.go), either by a template change or, with
 * `reloader.stakater.com/rollout-strategy: restart`, by setting spec.restartAt (internal/pkg/callbacks/
 * rolling_upgrade.go UpdateRollout). A Rollout annotated for Reloader is the user saying Reloader restarts it; the
 * action waits for that rollout (and times out naming Reloader if it never begins: the flag is off by default).
 */
export function reloaderRestartsFor(
  workload: Workload,
  secretName: string,
  secretAnnotations: Readonly<Record<string, string>> = {}
): boolean {
  if (secretAnnotations[IGNORE] === 'true') return false
  const own = workload.metadata.annotations ?? {}
  if (excludes(own[SECRETS_EXCLUDE], secretName)) return false
  const annotations = OPT_IN.some((key) => own[key] !== undefined)
    ? own
    : (podTemplateOf(workload).metadata?.annotations ?? {})
  if (reloadPatterns(annotations[SECRET_RELOAD]).some((pattern) => pattern.test(secretName))) return true
  const searched = annotations[SEARCH] === 'true' && secretAnnotations[MATCH] === 'true'
  return (
    (isGoTrue(annotations[AUTO]) || isGoTrue(annotations[SECRET_AUTO]) || searched) &&
    usedAsReloaderSees(workload, secretName)
  )
}

/** A comma-separated list of exact names, each trimmed. */
function excludes(list: string | undefined, secretName: string): boolean {
  return (list ?? '').split(',').some((entry) => entry.trim() === secretName)
}

/**
 * Each comma-separated entry, trimmed, is a regular expression written between `^` and `$` (so
 * `a|b` reads `^a|b$`, as in Reloader). An entry that does not compile is skipped, as Reloader skips
 * it. Reloader compiles Go's RE2: the syntax both accept (what a name list needs) means the same.
 */
function reloadPatterns(list: string | undefined): RegExp[] {
  return (list ?? '').split(',').flatMap((entry) => {
    try {
      return [new RegExp(`^${entry.trim()}$`)]
    } catch {
      return []
    }
  })
}

function isGoTrue(value: string | undefined): boolean {
  return value !== undefined && GO_TRUE.has(value)
}

/**
 * Whether Reloader's auto mode finds the Secret in use: the first volume naming it, when a container
 * or init container mounts that volume; else an `env` or `envFrom` reference. A volume no container
 * mounts does not count, nor does a later volume naming the same Secret.
 */
function usedAsReloaderSees(workload: Workload, secretName: string): boolean {
  const containers = containersOf(workload)
  const volume = volumesOf(workload).find((candidate) => volumeSecrets(candidate).includes(secretName))
  const mounted =
    volume !== undefined &&
    containers.some((container) => (container.volumeMounts ?? []).some((mount) => mount.name === volume.name))
  return mounted || containers.some((container) => envSecrets(container).includes(secretName))
}
