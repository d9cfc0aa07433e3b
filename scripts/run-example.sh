#!/usr/bin/env bash
# Installs what is missing, builds keygate into build/ and serves keys.example.yaml with
# env.example on 127.0.0.1:8090, after printing curl lines to try from another terminal.
# Ctrl-C stops it. The keys used below are the public example keys of keys.example.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2 --target keygate

base=http://127.0.0.1:8090
analyst=pk_acme_corp_fsRdVji5GeIP41VgGPHmPSDjvKXMM94DAu4i   # acme-analysts
bi=pk_acme_corp_cJ20803mKjd4JhHTOVHDUUTRmqS2553eMisz        # acme-bi (stored hashed)
etl=pk_globex_VcNGjXYccc3GBqnCJZMqM7GjEXD4E802X2KZ          # globex-etl (IP allowlist)
admin=pk_admin_zs54uYU07KVGIGnnNXRtx30JPVvFpk3odQ8D         # API_KEY_ADMIN of env.example

cat <<TRY
keygate serves keys.example.yaml on $base (audit log on stdout). Try, in another terminal:

  # allowed: 200 with X-Auth-Key-Id, X-Auth-Tenant, X-Auth-Role, X-Auth-Datasets, ...
  curl -i -H 'X-API-Key: $analyst' -H 'X-Original-URI: /v1/datasets/orders/rows' $base/auth
  # the same key as a bearer token, asked the way the query service does
  curl -s -H 'Authorization: Bearer $bi' -H 'Content-Type: application/json' \\
       -d '{"dataset": "orders", "permission": "read"}' $base/v1/authorize
  # 403 DATASET_FORBIDDEN: customers is denied to acme-analysts
  curl -i -H 'X-API-Key: $analyst' -H 'X-Original-URI: /v1/datasets/customers/rows' $base/auth
  # 403 INSUFFICIENT_PERMISSION: acme-bi is a viewer and cannot write
  curl -i -H 'X-API-Key: $bi' -H 'X-Original-Method: POST' -H 'X-Original-URI: /v1/datasets/orders/rows' $base/auth
  # 403 IP_NOT_ALLOWED: globex-etl only works from its allowlist
  curl -i -H 'X-API-Key: $etl' $base/auth
  # 401 MISSING_KEY and 401 INVALID_KEY
  curl -i $base/auth
  curl -i -H 'X-API-Key: pk_acme_corp_not-a-key' $base/auth
  # admin API with the env file's admin key
  curl -s -H 'X-API-Key: $admin' $base/v1/status
  curl -s $base/metrics | grep '^keygate_'

TRY
exec ./build/keygate serve --config keys.example.yaml --env-file env.example --listen 127.0.0.1:8090
