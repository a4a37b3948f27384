#!/bin/sh
# The image's entrypoint: secrets from files, then the command.
#
# For each secret NAME below, NAME_FILE set in the environment sets NAME to the content of
# that file (trailing newlines dropped; an empty file leaves NAME empty, which the code reads
# as unset). deploy/docker-compose.yaml gives the code server, and deploy/dagster.yaml gives
# every run container, the Cloudflare token and the R2 keys this way (and the live sampler
# its REDIS_URL, its R2 keys and its IVS keys, from its own directory), from the directory
# STREAM_STATS_SECRETS_DIR mounted at /run/secrets/stream-stats: the daemon, which starts the
# run containers, never holds them (docs/production.md, "Tokens, per process"). Only these
# names: other *_FILE variables (SSL_CERT_FILE, AWS_WEB_IDENTITY_TOKEN_FILE, ...) mean
# something else and are left alone.
#
# A NAME_FILE naming a file that cannot be read, or set beside a non-empty NAME, stops the
# container with one line naming it.
set -eu

for name in CLOUDFLARE_API_TOKEN R2_ACCESS_KEY_ID R2_SECRET_ACCESS_KEY \
    STREAM_STATS_CREATOR_KEY_SECRET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY REDIS_URL; do
    eval "path=\${${name}_FILE:-}"
    [ -n "$path" ] || continue
    eval "current=\${$name:-}"
    if [ -n "$current" ]; then
        echo "stream-stats: both $name and ${name}_FILE are set; set only one" >&2
        exit 64
    fi
    if [ -d "$path" ] || [ ! -r "$path" ]; then
        echo "stream-stats: ${name}_FILE=$path is not a readable file (is STREAM_STATS_SECRETS_DIR mounted, and readable by uid 10001? docs/production.md)" >&2
        exit 66
    fi
    value=$(cat "$path")
    export "$name=$value"
    unset "${name}_FILE"
done

exec "$@"
