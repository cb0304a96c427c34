#!/bin/sh
# Pointing gem-envoy at a gateway, tried on the simulator: run from an empty folder, with the
# virtualenv active (`. /path/to/gem-envoy/.venv/bin/activate`). For a real gateway, skip
# step 1, save your token from Entrez to envoy.jwt, and use its IP and port 443.
set -e

# 1. A simulated gateway on 127.0.0.1:8443; it writes an installer token to envoy.jwt.
gem-envoy simulate --port 8443 --token-file envoy.jwt &
trap 'kill $!' EXIT
while [ ! -s envoy.jwt ]; do sleep 0.2; done

# 2. Check it works: one poll cycle, printed as JSON.
gem-envoy poll --ip 127.0.0.1 --port 8443 --token-file envoy.jwt

# 3. The inverters' serials (an installer token is needed for them).
gem-envoy command --ip 127.0.0.1 --port 8443 --token-file envoy.jwt get_inverters

# 4. The device and one zone, in the host's database (var/gem-envoy.db).
gem-envoy device add envoy ip=127.0.0.1 port=8443 token=@envoy.jwt
gem-envoy zone add envoy roof-1 487442000000
gem-envoy device list
