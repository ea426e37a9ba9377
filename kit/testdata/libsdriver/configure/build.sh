#!/bin/sh
make -C "$KERNELDIR" M="$(dirname "$0")"
