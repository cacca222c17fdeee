#!/usr/bin/env bash
# Rebuilds the test-only certificate authority and the 127.0.0.1/localhost certificate that
# tests/models.rs serves model downloads over (`SSL_CERT_FILE=tests/tls/ca.pem` makes the
# client trust it). Valid for 100 years; the keys protect nothing.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
  -subj "/CN=realskin test CA" -keyout "$work/ca.key" -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$work/leaf.key" -out "$work/leaf.csr"
cat > "$work/ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
openssl x509 -req -in "$work/leaf.csr" -CA ca.pem -CAkey "$work/ca.key" -CAcreateserial -CAserial "$work/ca.srl" \
  -days 36500 -extfile "$work/ext" -out localhost.pem
openssl pkcs8 -topk8 -nocrypt -in "$work/leaf.key" -out localhost.key
