/**
 * Where `migration-ctl diagnostics` writes on-demand bundles unless --out says otherwise:
 * outside the checkout, so a bundle (node state, config files, journal lines) is never
 * committed with the stack files by a `git add stacks/`. The XDG base directory rule for state
 * data: `$XDG_STATE_HOME` when it is an absolute path, else `~/.local/state`.
 */
import * as os from "os";
import * as path from "path";

export function defaultBundleDir(stack: string, env: NodeJS.ProcessEnv = process.env): string {
    const xdg = env.XDG_STATE_HOME;
    const state = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), ".local", "state");
    return path.join(state, "pve-network-migration", "diagnostics", stack);
}
