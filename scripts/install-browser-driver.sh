#!/bin/sh
# Fetches the browser driver of the dashboard tests, playwright-core (pinned version and
# tarball hash), from the npm registry into .cache/browser-driver/node_modules/ in this checkout.
# It is a test tool, not a dependency of the product: deno.json and deno.lock do not name it, so
# the first `deno task hub` never downloads it (Deno sets up node_modules from the whole
# lockfile). scripts/lib/chromium.ts loads it from here. Idempotent; needs npm.
set -eu
version=1.65.1
sha512=86a3e9cfb6e548c3f1595768784d728814b35ec2a254e77693e9230af994cb00f618f3b60ddf477dc5a7abd34dd061db3590c5819f497c116bf97e7f04ba34ab
dest="$(cd "$(dirname "$0")/.." && pwd)/.cache/browser-driver/node_modules/playwright-core"
if grep -qs "\"version\": \"$version\"" "$dest/package.json"; then exit 0; fi
command -v npm >/dev/null || { echo "install-browser-driver: npm is needed (the dashboard tests' driver comes from the npm registry)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "playwright-core@$version" >/dev/null)
got=$(sha512sum "$tmp/playwright-core-$version.tgz" | cut -c1-128)
[ "$got" = "$sha512" ] || { echo "install-browser-driver: playwright-core-$version.tgz has sha512 $got, expected $sha512" >&2; exit 1; }
rm -rf "$dest.new" && mkdir -p "$dest.new"
tar -xzf "$tmp/playwright-core-$version.tgz" -C "$dest.new" --strip-components=1
rm -rf "$dest" && mv "$dest.new" "$dest"
echo "install-browser-driver: playwright-core $version in $dest" >&2
