#!/usr/bin/env bash
# Installs the WordPress test peer (Debian's wordpress + MariaDB + PHP CLI); does nothing when it is already there.
set -euo pipefail

PACKAGES=(wordpress mariadb-server php-cli php-mysql)
# Debian's wp-config.php only loads /etc/wordpress/config-<name>.php; tests/peers/wordpress.py selects this
# empty one and passes its real settings (a tmp MariaDB, its port) through php's auto_prepend_file.
SHIM=/etc/wordpress/config-townhall-peer.php

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo -n"
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    # The tests start their own MariaDB and php -S on loopback; the packaged services are not needed.
    export DEBIAN_FRONTEND=noninteractive
    APT=(apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends)
    if ! $SUDO "${APT[@]}" install "${missing[@]}" >/dev/null 2>&1; then
        $SUDO apt-get -o DPkg::Lock::Timeout=600 -qq update >/dev/null
        $SUDO "${APT[@]}" install "${missing[@]}" >/dev/null
    fi
fi

if [ ! -f "$SHIM" ]; then
    printf '%s\n' '<?php' "// Townhall's WordPress test peer: its settings come from the tests' php auto_prepend_file." \
        | $SUDO tee "$SHIM" >/dev/null
fi
