# Sourced by scripts/demo and bench/run: a local TLS broker with a fresh CA, the cloud responder, the
# fake organization endpoint and AWS IoT WebSocket gateway (test fixtures of this project), and the agent,
# all under $work, all stopped (by PID) when the calling script exits.
# Needs: $bin (directory of the built gateway-agent and identity-responder). Sets: $work, $port, ga().

fixtures="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../Tests/Fixtures" && pwd)"
work=$(mktemp -d /tmp/gateway-agent-stack.XXXXXX)
chmod 700 "$work"
stack_pids=()
stack_cleanup() {
  for pid in "${stack_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${stack_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stack_cleanup EXIT

# stack_certificates: a CA, the servers' certificate and client certificates for agent and responder.
stack_certificates() {
  (
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=local CA" \
      -keyout ca.key -out ca.pem 2>/dev/null
    for spec in "server localhost DNS:localhost,IP:127.0.0.1" "agent gateway-agent-local" "cloud identity-responder"; do
      set -- $spec
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
      if [ -n "${3:-}" ]; then printf 'subjectAltName=%s\n' "$3" > "$1.ext"; else : > "$1.ext"; fi
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
      chmod 600 "$1.key"
    done
  )
}

# stack_broker: mosquitto on a free port of 127.0.0.1 (TLS, client certificates required), plus a Unix
# socket that only the fake AWS IoT gateway uses. 100 unacknowledged QoS 1 messages per client, as AWS IoT
# Core allows (mosquitto's default of 20 would hold every client below the agent's max_inflight);
# STACK_MAX_INFLIGHT changes it (0 = no limit at the broker).
stack_broker() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$work/mosquitto.conf" <<CONF
per_listener_settings false
persistence false
log_dest file $work/mosquitto.log
max_queued_messages 100000
set_tcp_nodelay true
max_inflight_messages ${STACK_MAX_INFLIGHT:-100}
allow_anonymous true
listener $port 127.0.0.1
cafile $work/ca.pem
certfile $work/server.pem
keyfile $work/server.key
require_certificate true
use_identity_as_username true
listener 0 $work/mqtt.sock
CONF
  [ "$(id -u)" -eq 0 ] && echo "user root" >> "$work/mosquitto.conf"
  mosquitto -c "$work/mosquitto.conf" 2>>"$work/mosquitto.stderr" & stack_pids+=($!)
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
}

# stack_responder: the in-project cloud side of Identity v2.
stack_responder() {
  "$bin/identity-responder" --host localhost --port "$port" --cafile "$work/ca.pem" --cert "$work/cloud.pem" \
    --key "$work/cloud.key" --state-file "$work/registry.json" >"$work/responder.log" 2>&1 & stack_pids+=($!)
}

# stack_fixture NAME SCRIPT ARGS...: a python fixture that prints "PORT n" and runs until its stdin closes;
# sets $fixture_port.
stack_fixture() {
  local name=$1 fd
  shift
  mkfifo "$work/$name.in"
  python3 "$@" <"$work/$name.in" >"$work/$name.out" 2>"$work/$name.log" & stack_pids+=($!)
  exec {fd}>"$work/$name.in"   # holds the fixture's stdin open until this script exits
  for _ in $(seq 100); do grep -q '^PORT' "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  fixture_port=$(awk '/^PORT/ {print $2; exit}' "$work/$name.out")
}

# stack_organization_endpoint: the fake organization endpoint (HTTPS); organization "demo-org" gets
# one-hour credentials for region eu-west-1 with iotEndpoint "localhost".
stack_organization_endpoint() {
  mkdir -p "$work/org"
  echo '{"responses": [{"kind": "credentials", "lifetime": 3600, "region": "eu-west-1", "iotEndpoint": "localhost"}]}' \
    > "$work/org/demo-org.json"
  stack_fixture org "$fixtures/org_endpoint.py" "$work/server.pem" "$work/server.key" "$work/org"
  org_port=$fixture_port
  (umask 077; echo "demo-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" > "$work/org-token")
}

# stack_aws_gateway: the fake AWS IoT gateway: checks each SigV4-presigned WebSocket upgrade against the
# credentials the organization endpoint issued, then relays MQTT to mosquitto's Unix socket.
stack_aws_gateway() {
  stack_fixture gateway "$fixtures/aws_iot_gateway.py" --cert "$work/server.pem" --key "$work/server.key" \
    --issued "$work/org/demo-org.issued.jsonl" --target "unix:$work/mqtt.sock" --events "$work/gateway-events.jsonl"
  gateway_port=$fixture_port
}

# stack_agent TRANSPORT [lines for [identity]]: writes the configuration and starts `gateway-agent run`.
# TRANSPORT: aws-websocket (organization endpoint, SigV4-signed WebSocket through the fake AWS IoT gateway)
# or mqtt-tls (client certificate, straight to mosquitto).
stack_agent() {
  local connection
  if [ "$1" = aws-websocket ]; then
    connection="[credentials]
source = \"organization\"

[credentials.organization]
base_url = \"https://127.0.0.1:$org_port/v1\"
organization_id = \"demo-org\"
token_file = \"$work/org-token\"
ca_file = \"$work/ca.pem\"

[broker]
port = $gateway_port
ca_file = \"$work/ca.pem\""
  else
    connection="[credentials]
source = \"none\"

[broker]
transport = \"mqtt-tls\"
endpoint = \"localhost:$port\"
ca_file = \"$work/ca.pem\"
cert_file = \"$work/agent.pem\"
key_file = \"$work/agent.key\""
  fi
  cat > "$work/gateway-agent.toml" <<CONF
[agent]
module_id = "local-gateway"
state_dir = "$work/state"
control_socket = "$work/control.sock"
identities_dir = "$work/identities.d"

$connection

[identity]
${2:-}
CONF
  chmod 600 "$work/gateway-agent.toml"
  "$bin/gateway-agent" run --config "$work/gateway-agent.toml" 2>"$work/agent.log" & stack_pids+=($!)
  agent_pid=$!
  for _ in $(seq 100); do ga status >/dev/null 2>&1 && break; sleep 0.1; done
}

# stack_wait_connected: until `status` says connected (at most 15 s).
stack_wait_connected() {
  for _ in $(seq 150); do ga status --json 2>/dev/null | grep -q '"connection" : "connected"' && return 0; sleep 0.1; done
  return 1
}

ga() { "$bin/gateway-agent" "$@" --config "$work/gateway-agent.toml"; }
