#!/usr/bin/env bash
# Take a fresh Debian 12 machine to a running civic kiosk with the given config.
#
#   deploy/install.sh --config /path/kiosk.yaml [--catalogue FILE] [--udev-rules FILE]
#                     [--no-extras] [--no-start] [--root DIR]
#
# Run as root from a copy of the project. It validates the config first (and refuses to go on
# if `python -m config check` finds problems), then: system packages, users and groups, the
# project in /opt/civic-kiosk with its pinned venv and font, the config in /etc/civic-kiosk,
# udev rules, systemd units, log handling, lockdown, and finally enables and starts the
# services. Idempotent: run it again to update the code or the config. Files a technician
# edits on the kiosk (udev rules, /etc/default/civic-kiosk*) are kept once installed.
#
# --root DIR writes every file under DIR instead of / and only prints the commands that would
# change the running system (apt-get, useradd, pip, chown, systemctl, udevadm): for tests and
# for reviewing what an install does. See docs/deployment.md.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY="$SRC/deploy"

APP_DIR=/opt/civic-kiosk
ETC_DIR=/etc/civic-kiosk
CONFIG_TARGET=$ETC_DIR/kiosk.yaml
DATA_DIR=/var/lib/civic-kiosk
LOG_DIR=/var/log/civic-kiosk
UI_HOME=/var/lib/civic-kiosk-ui
UI_USER=kiosk
AGENT_USER=kiosk-agent
SHARED_GROUP=civic-kiosk
UNITS=(civic-kiosk-agent.service civic-kiosk.service)
SLEEP_TARGETS=(sleep.target suspend.target hibernate.target hybrid-sleep.target
  suspend-then-hibernate.target ctrl-alt-del.target)

APT_PACKAGES=(
  python3 python3-venv      # the interpreter the venv is made from (3.11 on Debian 12)
  cage xwayland             # kiosk compositor; Kivy's SDL2 draws through Xwayland
  dbus libpam-systemd kbd   # logind session for the seat (PAM); chvt
  udev logrotate
  libzbar0 libmtdev1        # pyzbar's decoder; Kivy's input provider
  libgl1 libegl1 libgles2 libgl1-mesa-dri   # Mesa GL
  fonts-noto-cjk            # source of the Simplified-Chinese font (docs/design.md §3)
  espeak-ng                 # offline read-aloud
)
EXTRA_PACKAGES=(mosquitto-clients)  # mosquitto_sub/pub for checking the link by hand

ROOT=""
CONFIG=""
CATALOGUE=""
UDEV_RULES=""
START=1
EXTRAS=1

say() { printf 'install: %s\n' "$*"; }
warn() { printf 'install: warning: %s\n' "$*" >&2; }
die() {
  printf 'install: error: %s\n' "$*" >&2
  exit 1
}
usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while (($#)); do
  case $1 in
    --config) CONFIG=${2:?--config needs a file}; shift 2 ;;
    --catalogue) CATALOGUE=${2:?--catalogue needs a file}; shift 2 ;;
    --udev-rules) UDEV_RULES=${2:?--udev-rules needs a file}; shift 2 ;;
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --no-start) START=0; shift ;;
    --no-extras) EXTRAS=0; shift ;;
    -h | --help) usage 0 ;;
    *) printf 'install: unknown option %s\n' "$1" >&2; usage 2 >&2 ;;
  esac
done

[[ -n $CONFIG ]] || die "--config FILE is required (start from config/kiosk.example.yaml)"
[[ -f $CONFIG ]] || die "$CONFIG: no such file"
CONFIG=$(realpath "$CONFIG")
for optional in CATALOGUE UDEV_RULES; do
  if [[ -n ${!optional} ]]; then
    [[ -f ${!optional} ]] || die "${!optional}: no such file"
    printf -v "$optional" '%s' "$(realpath "${!optional}")"
  fi
done
if [[ -n $ROOT ]]; then
  mkdir -p "$ROOT"
  ROOT=$(realpath "$ROOT")
  [[ $ROOT != / ]] || ROOT=""
fi

# ---- helpers: every change to the system goes through these -------------------------------

# Run a command that changes the live system; with --root, print it instead.
run() {
  if [[ -n $ROOT ]]; then
    printf 'would run:'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# chown, which needs the users: real installs only.
own() { run chown "$@"; }

# install a file: put SRC DEST MODE [OWNER:GROUP] (DEST is a path on the target system).
put() {
  local source=$1 dest=$ROOT$2 mode=$3 owner=${4:-root:root}
  mkdir -p "$(dirname "$dest")"
  if [[ -f $dest ]] && cmp -s "$source" "$dest"; then
    chmod "$mode" "$dest"
  else
    install -m "$mode" "$source" "$dest"
    say "wrote $2"
  fi
  own "$owner" "$dest"
}

# install a file only if absent: technicians edit these on the kiosk.
put_once() {
  if [[ -e $ROOT$2 ]]; then
    cmp -s "$1" "$ROOT$2" || say "kept the local $2 (the shipped one is $1)"
  else
    put "$@"
  fi
}

# a directory: dir PATH MODE OWNER:GROUP
dir() {
  mkdir -p "$ROOT$1"
  chmod "$2" "$ROOT$1"
  own "$3" "$ROOT$1"
}

has_group() { getent group "$1" >/dev/null; }

ensure_group() {
  if [[ -n $ROOT ]] || ! has_group "$1"; then run groupadd --system "$1"; fi
}

# ensure_user NAME PRIMARY_GROUP HOME SUPPLEMENTARY_GROUPS (comma-separated)
ensure_user() {
  local name=$1 group=$2 home=$3 extra=$4
  if [[ -n $ROOT ]] || ! getent passwd "$name" >/dev/null; then
    run useradd --system --gid "$group" --home-dir "$home" --no-create-home \
      --shell /usr/sbin/nologin --comment "civic kiosk" "$name"
  fi
  run usermod --append --groups "$extra" "$name"
}

# A Python with the project's dependencies, to validate the config before anything changes.
CHECK_PY=""
find_checker() {
  local candidate
  for candidate in "${CHECK_PYTHON:-}" "$SRC/.venv/bin/python" "$APP_DIR/.venv/bin/python"; do
    if [[ -n $candidate && -x $candidate ]] &&
      (cd "$SRC" && "$candidate" -c 'import config.loader' 2>/dev/null); then
      CHECK_PY=$candidate
      return 0
    fi
  done
  return 1
}

# `python -m config check`, then the install's own requirements (deploy/configinfo.py).
VALIDATED=0
CONFIG_INFO=""
validate_config() {
  local status=0 files=("$CONFIG") kind key rest
  [[ -z $CATALOGUE ]] || files+=("$CATALOGUE")
  say "checking $CONFIG${CATALOGUE:+ and $CATALOGUE}"
  (cd "$SRC" && env -u KIOSK_BROKER_URL -u KIOSK_DATA_DIR \
    "$CHECK_PY" -m config check "${files[@]}") || status=$?
  ((status == 0)) || die "the config has problems (listed above with their paths); it was not installed"
  CONFIG_INFO=$(cd "$SRC" && PYTHONPATH=$SRC "$CHECK_PY" "$DEPLOY/configinfo.py" \
    --installed-as "$CONFIG_TARGET" "$CONFIG") || die "$CONFIG: cannot read its paths"
  status=0
  while IFS=$'\t' read -r kind key rest; do
    case $kind in
      problem) printf '%s: %s: %s\n' "$CONFIG" "$key" "$rest" >&2; status=1 ;;
      warning) warn "$CONFIG: $key: $rest" ;;
    esac
  done <<<"$CONFIG_INFO"
  ((status == 0)) || die "the config cannot be installed as it is (see above); it was not installed"
  VALIDATED=1
}

info_path() { awk -F'\t' -v k="$1" '$1 == "path" && $2 == k { print $3 }' <<<"$CONFIG_INFO"; }

# ---- 0. preflight -------------------------------------------------------------------------
if [[ -z $ROOT ]]; then
  [[ $(id -u) -eq 0 ]] || die "run as root (or use --root DIR to see what would be done)"
  [[ -f /etc/debian_version ]] || die "this installer is for Debian 12"
  [[ $(cut -d. -f1 /etc/debian_version) == 12 ]] || warn "tested on Debian 12, this is $(cat /etc/debian_version)"
else
  say "installing under $ROOT (nothing on this system is changed; commands are printed)"
fi

# Validate before any change when a Python with the dependencies is at hand (a developer
# checkout, or an earlier install); a fresh box validates right after the venv is built.
if find_checker; then
  validate_config
elif [[ -n $ROOT ]]; then
  die "no Python with the project's dependencies to check the config (set CHECK_PYTHON)"
fi

# ---- 1. system packages -------------------------------------------------------------------
packages=("${APT_PACKAGES[@]}")
((EXTRAS == 0)) || packages+=("${EXTRA_PACKAGES[@]}")
say "system packages: ${packages[*]}"
run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
if [[ -z $ROOT ]] && dpkg-query -W -f='${Status}' brltty 2>/dev/null | grep -q "ok installed"; then
  warn "brltty is installed: it claims CH340/CP210x/FTDI serial adapters; remove it (apt-get purge brltty)"
fi

# ---- 2. users and groups ------------------------------------------------------------------
# kiosk: the touchscreen (owns the serial devices); kiosk-agent: the link to the city;
# civic-kiosk: both, for the shared outbox in $DATA_DIR.
say "users: $UI_USER (touchscreen), $AGENT_USER (agent); shared group $SHARED_GROUP"
for group in "$SHARED_GROUP" "$UI_USER" "$AGENT_USER"; do ensure_group "$group"; done
ui_groups=$SHARED_GROUP
for group in dialout video render audio input; do
  if [[ -n $ROOT ]] || has_group "$group"; then ui_groups+=",$group"; fi
done
ensure_user "$UI_USER" "$UI_USER" "$UI_HOME" "$ui_groups"
ensure_user "$AGENT_USER" "$AGENT_USER" "$DATA_DIR" "$SHARED_GROUP"

# ---- 3. the project -----------------------------------------------------------------------
app=$ROOT$APP_DIR
if [[ $(realpath -m "$app") == "$SRC" ]]; then
  say "running from $APP_DIR itself: code left as it is"
else
  say "copying the project to $APP_DIR"
  mkdir -p "$app"
  # Replace the code wholesale (no stale modules), keep the venv and the generated font.
  find "$app" -mindepth 1 -maxdepth 1 ! -name .venv ! -name build -exec rm -rf {} +
  tar -C "$SRC" --exclude=./.venv --exclude=./build --exclude=./.git --exclude=./data \
    --exclude='*/__pycache__' --exclude='*.pyc' --exclude=./.mypy_cache --exclude=./.ruff_cache \
    --exclude=./.pytest_cache --exclude=./.hypothesis --exclude=./.import_linter_cache \
    --exclude='*.egg-info' --exclude=./tests --exclude=./bench --exclude=./config/dev-keys \
    -cf - . | tar -C "$app" --no-same-owner -xf -
  chmod -R go-w "$app"
fi

# ---- 4. venv with the pinned dependencies, and the font -----------------------------------
venv=$APP_DIR/.venv
stamp_input=$(cat "$SRC/requirements/lock.txt" "$SRC/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [[ -n $ROOT || ! -f $venv/.install-stamp || $(cat "$venv/.install-stamp") != "$stamp_input" ]]; then
  say "building $venv from requirements/lock.txt"
  [[ -x $ROOT$venv/bin/python ]] || run python3 -m venv "$venv"
  run "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$APP_DIR/requirements/lock.txt"
  run "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$APP_DIR"
  if [[ -z $ROOT ]]; then printf '%s\n' "$stamp_input" >"$venv/.install-stamp"; fi
fi
run "$venv/bin/python" "$APP_DIR/scripts/make_font.py"
# The services may not write bytecode into /opt: compile it once here, for a quick start.
run "$venv/bin/python" -m compileall -q "$APP_DIR/common" "$APP_DIR/drivers" "$APP_DIR/edge_agent" "$APP_DIR/kiosk" "$APP_DIR/config"

if ((VALIDATED == 0)); then
  CHECK_PY=$venv/bin/python
  validate_config
fi

# ---- 5. config, keys and directories ------------------------------------------------------
say "config in $ETC_DIR"
dir "$ETC_DIR" 0750 "root:$SHARED_GROUP"
if [[ -f $ROOT$CONFIG_TARGET ]] && ! cmp -s "$CONFIG" "$ROOT$CONFIG_TARGET"; then
  cp -p "$ROOT$CONFIG_TARGET" "$ROOT$CONFIG_TARGET.prev"
  say "previous config kept as $CONFIG_TARGET.prev"
fi
put "$CONFIG" "$CONFIG_TARGET" 0640 "root:$SHARED_GROUP"

catalogue=$(info_path catalogue)
if [[ -n $CATALOGUE ]]; then
  put "$CATALOGUE" "$catalogue" 0644 "root:$SHARED_GROUP"
elif [[ ! -e $ROOT$catalogue ]]; then
  put "$SRC/config/catalogue.yaml" "$catalogue" 0644 "root:$SHARED_GROUP"
fi

# Files the config names (TLS, keys from the city): under $ETC_DIR, give each the owner and
# mode deploy/configinfo.py says (keys readable only by the process that uses them); list the
# missing ones.
missing=()
while IFS=$'\t' read -r kind key mode owner path; do
  [[ $kind == file ]] || continue
  if [[ ! -f $ROOT$path ]]; then
    missing+=("$key: $path")
  elif [[ $path == "$ETC_DIR"/* ]]; then
    chmod "$mode" "$ROOT$path"
    own "$owner" "$ROOT$path"
  else
    say "$key: $path is outside $ETC_DIR: check yourself that the services can read it"
  fi
done <<<"$CONFIG_INFO"
if [[ -d $ROOT$ETC_DIR/tls ]]; then dir "$ETC_DIR/tls" 0750 "root:$SHARED_GROUP"; fi

put "$DEPLOY/tmpfiles/civic-kiosk.conf" /etc/tmpfiles.d/civic-kiosk.conf 0644
if [[ -n $ROOT ]]; then
  dir "$DATA_DIR" 2770 "$AGENT_USER:$SHARED_GROUP"
  dir "$LOG_DIR" 2770 "$UI_USER:$SHARED_GROUP"
else
  systemd-tmpfiles --create /etc/tmpfiles.d/civic-kiosk.conf
fi
put_once "$DEPLOY/env/civic-kiosk" /etc/default/civic-kiosk 0644
put_once "$DEPLOY/env/civic-kiosk-agent" /etc/default/civic-kiosk-agent 0644

# ---- 6. devices ---------------------------------------------------------------------------
rules=/etc/udev/rules.d/99-civic-kiosk.rules
if [[ -n $UDEV_RULES ]]; then
  put "$UDEV_RULES" "$rules" 0644
else
  put_once "$DEPLOY/udev/99-civic-kiosk.rules" "$rules" 0644
fi
run udevadm control --reload
run udevadm trigger --action=change --subsystem-match=tty --subsystem-match=video4linux

# ---- 7. services, logs, session -----------------------------------------------------------
for unit in "${UNITS[@]}"; do
  put "$DEPLOY/systemd/$unit" "/etc/systemd/system/$unit" 0644
done
put "$DEPLOY/pam/civic-kiosk" /etc/pam.d/civic-kiosk 0644
put "$DEPLOY/journald/civic-kiosk.conf" /etc/systemd/journald.conf.d/civic-kiosk.conf 0644
put "$DEPLOY/logrotate/civic-kiosk" /etc/logrotate.d/civic-kiosk 0644
put "$DEPLOY/bin/civic-kiosk-ctl" /usr/local/sbin/civic-kiosk-ctl 0755
run systemctl restart systemd-journald

# ---- 8. lockdown --------------------------------------------------------------------------
say "lockdown: no other VTs, no getty on tty1, no sleep, no blanking"
put "$DEPLOY/lockdown/logind.conf" /etc/systemd/logind.conf.d/civic-kiosk.conf 0644
put "$DEPLOY/lockdown/sysctl.conf" /etc/sysctl.d/90-civic-kiosk.conf 0644
put "$DEPLOY/lockdown/grub.cfg" /etc/default/grub.d/civic-kiosk.cfg 0644
run sysctl --quiet --load=/etc/sysctl.d/90-civic-kiosk.conf
if [[ -n $ROOT ]] || command -v update-grub >/dev/null; then run update-grub; fi
run systemctl mask "${SLEEP_TARGETS[@]}"
run systemctl disable getty@tty1.service

# ---- 9. start -----------------------------------------------------------------------------
run systemctl daemon-reload
run systemctl enable "${UNITS[@]}"
if ((START)) && [[ -z $ROOT && $(readlink /proc/$$/fd/0 2>/dev/null || true) == /dev/tty1 ]]; then
  # The touchscreen takes tty1 over and would hang up this very session.
  run systemctl restart civic-kiosk-agent.service
  say "running on tty1: the touchscreen starts at the next boot (or: systemctl start civic-kiosk)"
elif ((START)); then
  run systemctl restart "${UNITS[@]}"
else
  say "services enabled, not started (--no-start)"
fi

if ((${#missing[@]})); then
  warn "the config names files that are not there yet; put them in place, then run"
  warn "  systemctl restart civic-kiosk-agent civic-kiosk"
  for item in "${missing[@]}"; do warn "  missing $item"; done
fi
say "done. Next: civic-kiosk-ctl devices; civic-kiosk-ctl status; reboot once to apply the lockdown"
