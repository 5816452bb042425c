#!/bin/sh
echo "script ran with $1"
echo err >&2
