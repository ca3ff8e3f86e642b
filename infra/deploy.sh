#!/usr/bin/env bash
# Deploy Squall to Azure: create the resource group, deploy infra/main.bicep, publish the Function App.
#
#   export SFMC_AUTH_BASE_URL=... SFMC_REST_BASE_URL=... SFMC_CLIENT_ID=... SFMC_CLIENT_SECRET=...
#   infra/deploy.sh --env-name dev --location swedencentral [--what-if]
#
# The secrets (SFMC_CLIENT_SECRET, SQUALL_WEBHOOK_SECRETS) are read from the environment and handed
# to `az` in a temporary parameters file readable only by you (never on a command line); they end up
# in Key Vault only.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/.." && pwd)"

usage() {
  cat <<'USAGE'
Usage: infra/deploy.sh --env-name NAME --location REGION [options]

Options:
  -e, --env-name NAME            environment name; seeds resource names (required)
  -l, --location REGION          Azure region offering Flex Consumption (default: $AZURE_LOCATION)
  -g, --resource-group NAME      resource group (default: rg-squall-NAME)
  -p, --parameter KEY=VALUE      override a main.bicep parameter (repeatable),
                                 e.g. -p eventHubPartitionCount=8 -p cosmosCapacityMode=autoscale
      --sender-principal-id ID   grant this principal Azure Event Hubs Data Sender on the hub
      --what-if                  show what the deployment would change; change nothing
      --skip-publish             deploy the infrastructure only, not the app code
  -h, --help                     show this help

Environment (required, also for --what-if):
  SFMC_AUTH_BASE_URL, SFMC_REST_BASE_URL, SFMC_CLIENT_ID, SFMC_CLIENT_SECRET
Environment (optional; unset or empty keeps the main.bicep default):
  SFMC_ACCOUNT_ID          business unit MID
  SFMC_JOURNEY_ENTRY_MODE  sync (default) or async
  SQUALL_WEBHOOKS          JSON object of webhook destinations by name (no secrets)
  SQUALL_WEBHOOK_SECRETS   JSON object of signing secrets by webhook name (stored in Key Vault)
  SQUALL_EVENTBRIDGE       JSON object of EventBridge destinations by name (no credentials)
  SQUALL_AUDIT_ENTITY      hash (default) or key: how the delivery audit log names an entity

Publishing uses Azure Functions Core Tools (`func azure functionapp publish`) when installed,
otherwise `az functionapp deployment source config-zip --build-remote true`.
USAGE
}

fail() {
  echo "deploy.sh: $*" >&2
  exit 2
}

env_name=""
location="${AZURE_LOCATION:-}"
resource_group=""
sender_principal_id=""
what_if=false
publish=true
overrides=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    -e | --env-name) env_name="${2:-}"; shift 2 ;;
    -l | --location) location="${2:-}"; shift 2 ;;
    -g | --resource-group) resource_group="${2:-}"; shift 2 ;;
    -p | --parameter) overrides+=("${2:-}"); shift 2 ;;
    --sender-principal-id) sender_principal_id="${2:-}"; shift 2 ;;
    --what-if) what_if=true; shift ;;
    --skip-publish) publish=false; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; fail "unknown option '$1'" ;;
  esac
done

[[ "${env_name}" =~ ^[A-Za-z0-9-]{1,64}$ ]] || fail "--env-name is required: 1-64 letters, digits or hyphens"
[[ -n "${location}" ]] || fail "--location is required (or set AZURE_LOCATION)"
resource_group="${resource_group:-rg-squall-${env_name}}"
deployment_name="squall-${env_name}"
for override in "${overrides[@]+"${overrides[@]}"}"; do
  [[ "${override}" =~ ^[A-Za-z][A-Za-z0-9]*=.+$ ]] || fail "--parameter expects KEY=VALUE, got '${override}'"
done
for name in SFMC_AUTH_BASE_URL SFMC_REST_BASE_URL SFMC_CLIENT_ID SFMC_CLIENT_SECRET; do
  [[ -n "${!name:-}" ]] || fail "environment variable ${name} is required (Marketing Cloud installed package)"
done
case "${SFMC_JOURNEY_ENTRY_MODE:-sync}" in
  sync | async) ;;
  *) fail "SFMC_JOURNEY_ENTRY_MODE must be sync or async" ;;
esac
case "${SQUALL_AUDIT_ENTITY:-hash}" in
  hash | key) ;;
  *) fail "SQUALL_AUDIT_ENTITY must be hash or key" ;;
esac
command -v az >/dev/null || fail "the Azure CLI (az) is required: https://aka.ms/azure-cli"
command -v python3 >/dev/null || fail "python3 is required"

# Parameters go through a private temporary folder so the secret never appears in a process list.
work_dir="$(mktemp -d "${TMPDIR:-/tmp}/squall-deploy.XXXXXX")"
chmod 700 "${work_dir}"
trap 'rm -rf "${work_dir}"' EXIT
params_file="${work_dir}/parameters.json"
package_zip="${work_dir}/app.zip"
ENV_NAME="${env_name}" LOCATION="${location}" SENDER_PRINCIPAL_ID="${sender_principal_id}" \
  python3 - "${params_file}" <<'PY'
import json, os, sys

def json_object(name: str, *, secret: bool) -> dict:
    """The JSON object in environment variable `name` ({} when unset); never echoes a secret."""
    text = os.environ.get(name, "")
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        detail = "" if secret else f": {exc.msg} at line {exc.lineno} column {exc.colno}"
        sys.exit(f"deploy.sh: {name} is not valid JSON{detail}")
    if not isinstance(value, dict):
        sys.exit(f"deploy.sh: {name} must be a JSON object keyed by webhook name")
    return value

webhooks = json_object("SQUALL_WEBHOOKS", secret=False)
json_object("SQUALL_EVENTBRIDGE", secret=False)
webhook_secrets = json_object("SQUALL_WEBHOOK_SECRETS", secret=True)
unsigned = sorted(name for name in webhooks if not webhook_secrets.get(name))
if unsigned:
    sys.exit(f"deploy.sh: SQUALL_WEBHOOK_SECRETS has no signing secret for {', '.join(unsigned)}")

values = {
    "environmentName": os.environ["ENV_NAME"],
    "location": os.environ["LOCATION"],
    "senderPrincipalId": os.environ["SENDER_PRINCIPAL_ID"],
    "sfmcAuthBaseUrl": os.environ["SFMC_AUTH_BASE_URL"],
    "sfmcRestBaseUrl": os.environ["SFMC_REST_BASE_URL"],
    "sfmcClientId": os.environ["SFMC_CLIENT_ID"],
    "sfmcClientSecret": os.environ["SFMC_CLIENT_SECRET"],
    "sfmcAccountId": os.environ.get("SFMC_ACCOUNT_ID", ""),
}
# Optional: absent means the main.bicep default (sync, no webhooks, '{}' stored in Key Vault).
optional = {
    "sfmcJourneyEntryMode": "SFMC_JOURNEY_ENTRY_MODE",
    "webhooks": "SQUALL_WEBHOOKS",
    "webhookSecrets": "SQUALL_WEBHOOK_SECRETS",
    "eventbridge": "SQUALL_EVENTBRIDGE",
    "auditEntity": "SQUALL_AUDIT_ENTITY",
}
values |= {key: os.environ[name] for key, name in optional.items() if os.environ.get(name)}
document = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {key: {"value": value} for key, value in values.items()},
}
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump(document, handle)
PY

template_args=(
  --resource-group "${resource_group}"
  --name "${deployment_name}"
  --template-file "${script_dir}/main.bicep"
  --parameters "@${params_file}"
)
for override in "${overrides[@]+"${overrides[@]}"}"; do
  template_args+=(--parameters "${override}")
done

if [[ "${what_if}" == true ]]; then
  if [[ "$(az group exists --name "${resource_group}")" != "true" ]]; then
    echo "Resource group ${resource_group} does not exist: it and every resource in infra/main.bicep would be created."
    exit 0
  fi
  az deployment group what-if "${template_args[@]}"
  exit 0
fi

echo "==> Resource group ${resource_group} (${location})"
az group create --name "${resource_group}" --location "${location}" --tags "azd-env-name=${env_name}" --output none

echo "==> Deploying infra/main.bicep as ${deployment_name}"
az deployment group create "${template_args[@]}" --output none

output() {
  az deployment group show --resource-group "${resource_group}" --name "${deployment_name}" \
    --query "properties.outputs.$1.value" --output tsv
}
function_app="$(output AZURE_FUNCTION_APP_NAME)"
[[ -n "${function_app}" ]] || fail "deployment ${deployment_name} has no AZURE_FUNCTION_APP_NAME output"

if [[ "${publish}" == true ]]; then
  echo "==> Publishing the app to ${function_app}"
  cd "${repo_root}"
  if command -v func >/dev/null; then
    func azure functionapp publish "${function_app}" --python
  else
    python3 - "${repo_root}" "${package_zip}" <<'PY'
"""Zip the app as Core Tools would: everything except what .funcignore lists."""
import fnmatch, os, sys, zipfile

root, target = sys.argv[1], sys.argv[2]
with open(os.path.join(root, ".funcignore"), encoding="utf-8") as handle:
    patterns = [line.strip().rstrip("/") for line in handle if line.strip() and not line.startswith("#")]

def ignored(relative: str) -> bool:
    parts = relative.split("/")
    return any(
        fnmatch.fnmatch(relative, pattern) or any(fnmatch.fnmatch(part, pattern) for part in parts)
        for pattern in patterns
    )

with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
    for folder, subfolders, files in os.walk(root):
        relative_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if relative_folder == "." else relative_folder + "/"
        subfolders[:] = sorted(name for name in subfolders if not ignored(prefix + name))
        for name in sorted(files):
            if not ignored(prefix + name):
                archive.write(os.path.join(folder, name), prefix + name)
PY
    az functionapp deployment source config-zip --resource-group "${resource_group}" \
      --name "${function_app}" --src "${package_zip}" --build-remote true
  fi
fi

echo "==> Done. What a sender needs:"
echo "    resource group   ${resource_group}"
echo "    function app     ${function_app}"
echo "    namespace        $(output EVENTHUB_FULLY_QUALIFIED_NAMESPACE)"
echo "    event hub        $(output EVENTHUB_NAME)"
