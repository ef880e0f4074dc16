#!/usr/bin/env bash
# System packages for `npm run test:host` (code-server runner) on Debian, as root, no stdin.
# Idempotent: installs only what is missing, and runs `apt-get update` only when something is.
#   chromium, fonts-liberation : headless browser that loads the code-server workbench
#   libkrb5-dev, pkg-config    : headers for code-server's native addons (kerberos) built at install
#   build-essential, python3   : node-gyp toolchain for those addons
set -euo pipefail

packages=(chromium fonts-liberation libkrb5-dev pkg-config build-essential python3 ca-certificates)

missing=()
for pkg in "${packages[@]}"; do
  # "install ok installed" is dpkg's status for a fully installed package.
  if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "ci-setup: all packages present"
  exit 0
fi

echo "ci-setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
