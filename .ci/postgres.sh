#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests against the PostgreSQL backend: 127.0.0.1:55433,
# role "quartier" (password "quartier", may create databases), data in $PGDATA (default
# /tmp/quartier-pg). Each test makes its own database there.
#   bash .ci/postgres.sh start | stop
# Prints the URL for QUARTIER_TEST_POSTGRES on start. The server also speaks TLS with a
# self-signed CA ($DATA/tls/ca.crt, for QUARTIER_TEST_POSTGRES_CA; the server certificate
# names localhost and 127.0.0.1).
set -euo pipefail
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
DATA=${PGDATA:-/tmp/quartier-pg}
PORT=${QUARTIER_PG_PORT:-55433}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    if [ ! -f "$DATA/PG_VERSION" ]; then
      mkdir -p "$DATA"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
      as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
      printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n" "$PORT" "$DATA" >> "$DATA/postgresql.conf"
      as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w start >/dev/null
      as_pg "$BIN/psql" -h "$DATA" -p "$PORT" -U postgres -qc "CREATE ROLE quartier LOGIN CREATEDB PASSWORD 'quartier'"
    elif ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w start >/dev/null
    fi
    if [ ! -f "$DATA/tls/server.crt" ]; then
      # A CA and a server certificate for localhost/127.0.0.1, then TLS on (reload suffices).
      mkdir -p "$DATA/tls"
      ( cd "$DATA/tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Quartier Test CA" -keyout ca.key -out ca.crt >/dev/null 2>&1
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr >/dev/null 2>&1
        printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > san.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile san.ext -out server.crt >/dev/null 2>&1
        chmod 600 server.key )
      [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DATA/tls"
      chmod 755 "$DATA/tls"; chmod 644 "$DATA/tls/ca.crt"
      printf "ssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n" "$DATA/tls/server.crt" "$DATA/tls/server.key" >> "$DATA/postgresql.conf"
      as_pg "$BIN/pg_ctl" -D "$DATA" -w reload >/dev/null
      sleep 1
    fi
    # Only a server that answers counts (a port taken by another one would not).
    URL="postgres://quartier:quartier@127.0.0.1:$PORT/postgres"
    PGPASSWORD=quartier "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U quartier -d postgres -qtAc "SELECT 1" >/dev/null \
      || { echo "PostgreSQL on 127.0.0.1:$PORT does not answer (see $DATA/server.log)" >&2; exit 1; }
    echo "$URL";;
  stop) as_pg "$BIN/pg_ctl" -D "$DATA" -w stop -m fast >/dev/null || true;;
  *) echo "usage: $0 start|stop" >&2; exit 2;;
esac
