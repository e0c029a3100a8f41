# Sourced by the tests/setup/*.sh scripts (not run on its own: tests/run.py runs only *.sh).
# apt_install_missing LABEL PACKAGE...: installs those Debian packages that are not installed yet.
apt_install_missing() {
  local label=$1
  shift
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "$label: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}
