/**
 * Helper scripts that keepalived's MISC_CHECK runs for checks keepalived has
 * no built-in for. Piranha's nanny could "send a string, expect a reply"
 * (seed 002/004: send "GET / HTTP/1.0\r\n\r\n", expect "HTTP"); keepalived
 * 2.2 cannot, so the director gets this small POSIX sh script.
 */

/** Where the director setup installs the send/expect checker. */
export const SEND_EXPECT_SCRIPT_PATH = '/etc/keepalived/lvs-send-expect.sh';

/**
 * Usage: lvs-send-expect.sh HOST PORT TIMEOUT SEND EXPECT [regex]
 * SEND may contain \r and \n escapes (printf %b). Exit 0 when the reply
 * contains EXPECT (a fixed string, or an extended regex when the sixth
 * argument is "regex"), 1 otherwise. Needs `nc` (netcat) or busybox, and `timeout`.
 */
export function renderSendExpectScript(): string {
  return `#!/bin/sh
# lvs-toolkit: send a string to a real server and expect a reply (keepalived MISC_CHECK).
# Usage: lvs-send-expect.sh HOST PORT TIMEOUT SEND EXPECT [regex]
set -u
if [ "$#" -lt 5 ]; then
  echo "usage: $0 HOST PORT TIMEOUT SEND EXPECT [regex]" >&2
  exit 2
fi
host=$1
port=$2
limit=$3
send=$4
expect=$5
mode=\${6:-fixed}
# netcat-openbsd/-traditional, or busybox's applet where no nc is installed.
if command -v nc >/dev/null 2>&1; then
  set -- nc
elif command -v busybox >/dev/null 2>&1; then
  set -- busybox nc
else
  echo "lvs-send-expect: needs nc (apt-get install netcat-openbsd) or busybox" >&2
  exit 1
fi
reply=$(printf '%b' "$send" | timeout "$limit" "$@" -w "$limit" "$host" "$port" 2>/dev/null) || true
if [ "$mode" = regex ]; then
  printf '%s' "$reply" | grep -Eq -- "$expect"
else
  printf '%s' "$reply" | grep -Fq -- "$expect"
fi
`;
}
