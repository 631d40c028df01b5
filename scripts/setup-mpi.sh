#!/usr/bin/env bash
# Makes Open MPI's launcher and runtime available for the data-parallel tests, idempotently:
# Debian's openmpi-bin (mpirun, and libmpi.so.40, which `gan` opens at run time).
set -euo pipefail
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! command -v mpirun >/dev/null || ! ldconfig -p | grep -q 'libmpi\.so\.40'; then
  echo "setup-mpi: installing Debian's openmpi-bin (one time)" >&2
  $sudo apt-get install -y -q openmpi-bin >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q openmpi-bin >/dev/null
  }
fi
