#!/usr/bin/env bash
# The hand-written seeds of fuzz_check_request: CheckRequests as Envoy fills them (the headers
# map, header_map with raw_value, a Bearer key, keys in the query, forged X-Auth-* headers, a
# pipe and an IPv6 source, a body), two occurrences of `attributes` (protobuf merges them) and
# unknown fields of every wire type; each after a control byte (fuzz_check_request.cpp).
# protoc encodes them from text format with keygate's own proto/ files.
#
#   fuzz/seeds_check_request.sh [OUT_DIR]    (default: fuzz/corpus/fuzz_check_request)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
proto=$root/proto
out=${1:-$root/fuzz/corpus/fuzz_check_request}
mkdir -p "$out"
enc() { protoc -I"$proto" -I/usr/include --encode=envoy.service.auth.v3.CheckRequest envoy/service/auth/v3/external_auth.proto; }
seed() { # NAME CONTROL_HEX TEXT
  local name=$1 control=$2
  { printf "%b" "\\x$control"; enc <<<"$3"; } >"$out/$name"
}
base='attributes { source { address { socket_address { address: "192.0.2.10" port_value: 51234 } } }
 request { http { method: "GET" path: "/v1/datasets/orders/rows?limit=10"
 headers { key: ":authority" value: "api.example.com" } headers { key: ":method" value: "GET" }
 headers { key: ":path" value: "/v1/datasets/orders/rows?limit=10" }
 headers { key: "x-api-key" value: "pk_acme_FAKEFAKEFAKEFAKEFAKEFAKE" }
 headers { key: "x-auth-tenant" value: "forged" } headers { key: "user-agent" value: "PowerBI/2.0" } } } }'
seed envoy_headers_allowed 91 "$base"
seed envoy_headers_denied 13 "$base"
seed envoy_header_map 19 'attributes { source { address { socket_address { address: "2001:db8::7" port_value: 1 } } }
 request { http { method: "POST" path: "/v1/query?api_key=K&api%5Fkey=K&a=1;api_key=K#frag"
 header_map { headers { key: ":path" raw_value: "/v1/query" } headers { key: "authorization" raw_value: "Bearer pk_acme_FAKEFAKEFAKEFAKEFAKEFAKE" }
 headers { key: "X-Auth-Role" value: "admin" } headers { key: "x-auth-role" raw_value: "admin" } headers { key: "cookie" value: "a" raw_value: "b" } } body: "{}" } } }'
seed envoy_query_key f1 'attributes { request { http { method: "GET" path: "/v1/datasets/x?api_key=K&api_key=K2" headers { key: "x-auth-key-id" value: "forged" } } } }'
seed pipe_address 04 'attributes { source { address { pipe { path: "/run/envoy.sock" } } } request { http { method: "DELETE" path: "/admin/%3F/../x" raw_body: "\001\002" } } }'
seed empty 00 ''
seed odd_method 35 'attributes { request { http { method: "get" path: "//a/./b%2F..%2f" } } }'
# two occurrences of attributes: protobuf merges them
{ printf '\x92'; enc <<<"$base"; enc <<<'attributes { source { address { pipe { path: "p" } } } request { http { path: "/second" headers { key: "x-api-key" value: "second" } } } }'; } >"$out/merged_twice"
# an unknown field of each wire type at the top, before a valid request
{ printf '\x11'; printf '\x78\x01\x81\x01\x01\x02\x03\x04\x05\x06\x07\x08\x8d\x01\x01\x02\x03\x04'; enc <<<"$base"; } >"$out/unknown_fields"
