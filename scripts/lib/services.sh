# Dev services for tests and benchmarks, started on loopback and stopped by
# stop_services (callers trap it on EXIT). Source this file; each start_*
# function installs what it needs, waits until the service answers and
# exports how to reach it.
#
#   start_moto       AWS_ENDPOINT_URL and test credentials (moto server)
#   start_postgres   FUSION_TEST_POSTGRES_DSN (a throwaway cluster)
#   start_fakesnow   FUSION_TEST_SNOWFLAKE_DSN (fakesnow server)

services=()      # pids to stop
service_dirs=()  # directories to remove
stop_services() {
  local pid
  for pid in "${services[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true # killed: non-zero
  done
  services=()
  [[ ${#service_dirs[@]} -eq 0 ]] || rm -rf "${service_dirs[@]}"
  service_dirs=()
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_until CMD...: until CMD succeeds, for up to 60s.
wait_until() {
  for _ in $(seq 120); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "service did not come up: $*" >&2
  return 1
}

# new_service_dir: sets dir to a temporary directory removed by
# stop_services.
new_service_dir() {
  dir=$(mktemp -d)
  service_dirs+=("$dir")
}

start_moto() {
  local python dir port
  python=$(scripts/venv.sh aws)
  new_service_dir
  port=$(free_port)
  "$(dirname "$python")/moto_server" -H 127.0.0.1 -p "$port" >"$dir/log" 2>&1 &
  services+=($!)
  wait_until curl -fs -o /dev/null "http://127.0.0.1:$port/moto-api/" || { cat "$dir/log" >&2; return 1; }
  # Only loopback: the SDK talks to moto, never to AWS or instance metadata.
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

# postgres_bin: the directory of the PostgreSQL server binaries, installing
# Debian's package when there is none.
postgres_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "installing PostgreSQL from Debian's packages" >&2
    local sudo=
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$bin"
}

start_postgres() {
  local bin dir port as=()
  bin=$(postgres_bin)
  new_service_dir
  port=$(free_port)
  if [[ $(id -u) -eq 0 ]]; then # the server refuses to run as root
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U fusion --auth=trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; return 1; }
  "${as[@]}" "$bin/postgres" -D "$dir/data" -h 127.0.0.1 -p "$port" -k "$dir" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off >"$dir/log" 2>&1 &
  services+=($!)
  wait_until "$bin/pg_isready" -h 127.0.0.1 -p "$port" || { cat "$dir/log" >&2; return 1; }
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U fusion fusion
  export FUSION_TEST_POSTGRES_DSN="postgres://fusion@127.0.0.1:$port/fusion?sslmode=disable"
}

start_fakesnow() {
  local python dir port
  python=$(scripts/venv.sh warehouse)
  new_service_dir
  port=$(free_port)
  # fakesnow keeps its databases in memory: each server starts empty.
  "$(dirname "$python")/fakesnow" -s --host 127.0.0.1 -p "$port" >"$dir/log" 2>&1 &
  services+=($!)
  wait_until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" || { cat "$dir/log" >&2; return 1; }
  export SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true
  export FUSION_TEST_SNOWFLAKE_DSN="fake:snow@127.0.0.1:$port/FUSION/PUBLIC?account=fakesnow&protocol=http&disableTelemetry=true"
}
