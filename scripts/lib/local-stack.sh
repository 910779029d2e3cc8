# Sourced by scripts/demo and scripts/bench: a local TLS broker with a fresh CA, the cloud responder and
# the agent, all under $work, all stopped (by PID) when the calling script exits.
# Needs: $bin (directory of the built gateway-agent and identity-responder). Sets: $work, $port, ga().

work=$(mktemp -d /tmp/gateway-agent-stack.XXXXXX)
chmod 700 "$work"
stack_pids=()
stack_cleanup() {
  for pid in "${stack_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${stack_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stack_cleanup EXIT

# stack_certificates: a CA, the broker's certificate and client certificates for agent and responder.
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

# stack_broker: mosquitto on a free port of 127.0.0.1, client certificates required.
stack_broker() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$work/mosquitto.conf" <<CONF
per_listener_settings false
persistence false
log_dest file $work/mosquitto.log
max_queued_messages 100000
listener $port 127.0.0.1
cafile $work/ca.pem
certfile $work/server.pem
keyfile $work/server.key
require_certificate true
use_identity_as_username true
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

# stack_agent [extra [identity] lines]: writes the configuration and starts `gateway-agent run`.
stack_agent() {
  cat > "$work/gateway-agent.toml" <<CONF
[agent]
module_id = "local-gateway"
state_dir = "$work/state"
control_socket = "$work/control.sock"
identities_dir = "$work/identities.d"

[credentials]
source = "none"

[broker]
transport = "mqtt-tls"
endpoint = "localhost:$port"
ca_file = "$work/ca.pem"
cert_file = "$work/agent.pem"
key_file = "$work/agent.key"

[identity]
${1:-}
CONF
  chmod 600 "$work/gateway-agent.toml"
  "$bin/gateway-agent" run --config "$work/gateway-agent.toml" 2>"$work/agent.log" & stack_pids+=($!)
  agent_pid=$!
  for _ in $(seq 100); do ga status >/dev/null 2>&1 && break; sleep 0.1; done
}

ga() { "$bin/gateway-agent" "$@" --config "$work/gateway-agent.toml"; }
