#!/bin/sh
# Start Asterisk with the AMI password of user `dialer` from the environment: the image carries no
# usable secret (conf/manager.conf has the sandbox's). Trunks then say ami://dialer:<AMI_SECRET>@host:5038.
set -eu
conf="${MANAGER_CONF:-/etc/asterisk/manager.conf}"
if [ -z "${AMI_SECRET:-}" ]; then
    echo "asterisk: set AMI_SECRET, the AMI password of user dialer (e.g. openssl rand -hex 16)" >&2
    exit 1
fi
case "$AMI_SECRET" in
    *[!A-Za-z0-9._~-]*)
        echo "asterisk: AMI_SECRET may hold letters, digits and . _ ~ - only (it goes into an ami:// URL)" >&2
        exit 1 ;;
esac
if [ "${#AMI_SECRET}" -lt 12 ]; then
    echo "asterisk: AMI_SECRET must be at least 12 characters" >&2
    exit 1
fi
sed -i "s/^secret = .*/secret = ${AMI_SECRET}/" "$conf"
exec "$@"
