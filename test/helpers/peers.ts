import { execFileSync } from "node:child_process";

/**
 * Real peers (openssl, cfssl, curl, nginx) drive the tests. On a developer machine that lacks one, the
 * tests that need it skip with the reason printed; in CI (CI=true) a missing peer fails the run, so
 * nothing skips there. Use: `test("…", { skip: missingPeer("cfssl") }, async () => …)`.
 */
export function missingPeer(...commands: string[]): string | false {
  const missing = commands.filter((command) => !hasCommand(command));
  if (missing.length === 0) return false;
  const reason = `needs ${missing.join(", ")} on PATH (Debian: apt-get install ${missing.map(debianPackage).join(" ")})`;
  if (process.env.CI) throw new Error(`CI must not skip: ${reason}`);
  return reason;
}

function hasCommand(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function debianPackage(command: string): string {
  return (
    {
      cfssl: "golang-cfssl",
      cfssljson: "golang-cfssl",
      nginx: "nginx-light",
      ab: "apache2-utils",
      taskset: "util-linux",
    }[command] ?? command
  );
}
