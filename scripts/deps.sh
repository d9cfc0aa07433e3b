#!/usr/bin/env bash
# Installs the Debian 12 packages keygate needs to build, test and run the examples, but only
# those that are missing (so a prepared machine needs neither root nor the network).
# Uses sudo when not run as root.
set -euo pipefail

packages=(
    cmake g++ pkg-config
    libyaml-cpp-dev libcpp-httplib-dev libssl-dev libspdlog-dev libfmt-dev
    catch2 nlohmann-json3-dev
    libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
    python3-grpcio python3-protobuf
    nginx caddy curl python3 python3-yaml python3-jsonschema
    prometheus logrotate dpkg-dev systemd
)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "deps: all ${#packages[@]} packages are installed"
    exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
