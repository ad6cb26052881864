#!/bin/sh
# The official redis image's entrypoint, in short: `redis-server [options]` runs as the
# redis user with its data in /data; any other command runs as given.
set -e
if [ "$1" = redis-server ]; then
  shift
  if [ "$(id -u)" = 0 ]; then
    # A volume arrives owned by root: hand it to redis, as the official image does.
    find /data \! -user redis -exec chown redis:redis '{}' +
    # Without a configuration file Redis starts in protected mode and refuses every client
    # but loopback; the official image builds it with protected mode off, since a
    # container's port is only reachable where it is published. Options given after it
    # (the compose command's) still win.
    exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
  fi
  exec redis-server --protected-mode no "$@"
fi
exec "$@"
