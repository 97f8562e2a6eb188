#!/usr/bin/env bash
# fetch.sh fetches a Beam Flink job server with Maven's own client into
# .cache/flink/ (git-ignored) and records how to start it:
#   .cache/flink/job-server.classpath   java classpath (a jar, or lib/*)
#   .cache/flink/job-server.version     "<beam version> flink <flink version>"
# Start it with
#   java -cp "$(cat .cache/flink/job-server.classpath)" \
#     org.apache.beam.runners.flink.FlinkJobServerDriver --flink-master=[local] --job-port=8099
# Idempotent: a job server already recorded is reused without the network.
#
# Which job server: the shaded jar
# org.apache.beam:beam-runners-flink-<FLINK_VERSION>-job-server:<BEAM_VERSION>
# (default 1.20 and 2.77.0, the Go SDK's version in go.mod) when the Maven
# repository serves it. Otherwise (the repository this project's machines
# reach serves no *-job-server artifact, and no Beam 2.77.0 Java artifacts),
# the unshaded runner beam-runners-flink-<FALLBACK_FLINK>:<FALLBACK_BEAM>
# (default 1.19 and 2.62.0, the newest pair whose whole dependency tree that
# repository serves) and its dependencies, resolved through
# scripts/flink/pom.xml: the same FlinkJobServerDriver, from a classpath.
# Tried on 2026-12-01: the -1.19-/-1.20-job-server jars at 2.63.0, 2.65.0,
# 2.73.0 and 2.77.0, and the runners beam-runners-flink-1.19/-1.20 at
# 2.63.0–2.73.0, are not served (2.70.0's 1.19 runner is, but not its
# beam-runners-java-job-service); docs/deploy.md has the table and what was
# tested. vindex's elements cross the runner as opaque bytes (custom coders,
# transforms/coders.go), so the older job server never decodes them.
#
# Environment: BEAM_VERSION, FLINK_VERSION, FALLBACK_BEAM, FALLBACK_FLINK,
# VINDEX_FLINK_CACHE (cache folder, default <repo>/.cache/flink).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
beam_version="${BEAM_VERSION:-2.77.0}"
flink_version="${FLINK_VERSION:-1.20}"
fallback_beam="${FALLBACK_BEAM:-2.62.0}"
fallback_flink="${FALLBACK_FLINK:-1.19}"
cache="${VINDEX_FLINK_CACHE:-$root/.cache/flink}"

artifact="beam-runners-flink-${flink_version}-job-server"
jar="$cache/${artifact}-${beam_version}.jar"
# The fallback's folder is keyed by the pom's hash too, so a changed pom is
# fetched anew.
pomsum="$(sha256sum "$here/pom.xml" | cut -c1-12)"
lib="$cache/beam-${fallback_beam}-flink-${fallback_flink}-${pomsum}/lib"

if [[ -s "$cache/job-server.classpath" && -s "$cache/job-server.version" ]]; then
	cp="$(cat "$cache/job-server.classpath")"
	if [[ ( "$cp" == "$jar" && -s "$jar" ) || ( "$cp" == "$lib/*" && -d "$lib" ) ]]; then
		echo "fetch.sh: job server $(cat "$cache/job-server.version") already in $cache" >&2
		echo "$cp"
		exit 0
	fi
fi

command -v mvn >/dev/null || { echo "fetch.sh: needs mvn (Apache Maven) on PATH" >&2; exit 1; }
mkdir -p "$cache"
# Work in a temporary folder and rename, so an interrupted run never leaves a
# half-fetched job server that a later run would take for a good one.
tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

record() { # classpath version
	printf '%s\n' "$1" >"$tmp/classpath"
	printf '%s\n' "$2" >"$tmp/version"
	mv -f "$tmp/classpath" "$cache/job-server.classpath"
	mv -f "$tmp/version" "$cache/job-server.version"
	echo "fetch.sh: job server $2 in $cache" >&2
	echo "$1"
}

if [[ -s "$jar" ]]; then
	record "$jar" "$beam_version flink $flink_version"
	exit 0
fi
echo "fetch.sh: fetching org.apache.beam:${artifact}:${beam_version}" >&2
if mvn --batch-mode --quiet \
	org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
	-Dartifact="org.apache.beam:${artifact}:${beam_version}:jar" \
	-DoutputDirectory="$tmp" >"$tmp/mvn.log" 2>&1; then
	mv "$tmp/${artifact}-${beam_version}.jar" "$jar"
	record "$jar" "$beam_version flink $flink_version"
	exit 0
fi
grep -m1 ERROR "$tmp/mvn.log" >&2 || true

echo "fetch.sh: falling back to beam-runners-flink-${fallback_flink}:${fallback_beam} and its dependencies" >&2
if [[ ! -d "$lib" ]]; then
	mvn --batch-mode --quiet -f "$here/pom.xml" \
		org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
		-Dbeam.version="$fallback_beam" -Dflink.version="$fallback_flink" \
		-DincludeScope=runtime -DoutputDirectory="$tmp/lib" >&2
	mkdir -p "$(dirname "$lib")"
	mv "$tmp/lib" "$lib"
fi
record "$lib/*" "$fallback_beam flink $fallback_flink"
