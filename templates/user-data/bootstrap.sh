#!/bin/bash
# amazonei-setup bootstrap for deployment ${deployment}.
# Written by amazonei-setup; carries no credentials (the instance role supplies them).
set -euo pipefail
exec > >(tee -a /var/log/amazonei-agent.log) 2>&1
install -d -m 0755 /etc/amazonei-setup
cat > /etc/amazonei-setup/deployment.json <<'AMAZONEI_SETUP_CONFIG'
${config_json}
AMAZONEI_SETUP_CONFIG
echo "amazonei-setup: deployment ${deployment} bootstrapped; expected accelerator: ${expect}"
