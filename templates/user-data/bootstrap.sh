#!/bin/bash
# amazonei-setup bootstrap for deployment ${deployment}: installs the bundled agent, which checks
# the accelerator (${expect}), runs a smoke-test model and publishes its report to SSM.
# Carries no credentials: the instance role supplies them. AMAZONEI_SETUP_ROOT is unset on EC2
# (files go to their real places); the local sandbox sets it to a scratch directory.
set -uo pipefail
root="$${AMAZONEI_SETUP_ROOT:-}"
mkdir -p "$$root/var/log" "$$root/opt/amazonei-setup" "$$root/etc/amazonei-setup" "$$root/var/lib/amazonei-setup"
log="$$root/var/log/amazonei-agent.log"
console="$$root/dev/console"
exec >>"$$log" 2>&1
echo "amazonei-setup: bootstrap of ${deployment} starting at $$(date -u +%FT%TZ)"
cat >"$$root/etc/amazonei-setup/config.json" <<'AMAZONEI_SETUP_CONFIG'
${config_json}
AMAZONEI_SETUP_CONFIG
cat >"$$root/opt/amazonei-setup/agent.py" <<'AMAZONEI_SETUP_AGENT'
${agent_source}
AMAZONEI_SETUP_AGENT
python="$$(command -v python3 || command -v python || true)"
if [ -z "$$python" ]; then
  echo "amazonei-setup: no python3 on this image; the agent cannot run" | tee -a "$$console"
  exit 1
fi
"$$python" "$$root/opt/amazonei-setup/agent.py" \
  --config "$$root/etc/amazonei-setup/config.json" \
  --report-file "$$root/var/lib/amazonei-setup/report.json" \
  --console "$$console"
status=$$?
echo "amazonei-setup: agent finished with exit code $$status"
exit $$status
