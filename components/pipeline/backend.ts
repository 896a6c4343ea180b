/**
 * Where `migration-ctl up | plan --out | apply` keep a stack's state, and the environment the
 * Pulumi CLI runs with: the backend named by PULUMI_BACKEND_URL; else, for the dev stack, a local
 * file backend in the project folder (`.pulumi-state/`, gitignored), so a new user needs no
 * `pulumi login`; else the CLI's own login (`pulumi login`), as a plain `pulumi up` would use. A
 * production stack never lands in a fresh local state by accident: that would plan every
 * resource as new.
 *
 * A self-managed backend (a file:// or cloud-storage URL) keeps secrets with a passphrase unless
 * the stack file names another secrets provider (`secretsprovider:`); the CLI then needs
 * PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (pulumi/pulumi
 * pkg/secrets/passphrase/manager.go readPassphrase, which refuses to prompt without a terminal,
 * and the Automation API always runs it with --non-interactive). The dev stack holds no secret
 * (its nodes are folders of this machine), so for it alone an empty passphrase is used when none
 * is set: an empty PULUMI_CONFIG_PASSPHRASE is a valid one (manager_test.go
 * TestPassphraseManagerEmptyPassphraseIsValid).
 */
import * as path from "path";
import { CliError, EXIT } from "../../cli/errors";

/** The local file backend's folder in the project (gitignored). */
export const LOCAL_BACKEND_DIR = ".pulumi-state";

/** What `url` says when the CLI's own login decides the backend. */
export const LOGIN_BACKEND = "pulumi login";

/** The stack that uses the project's local backend by default and may run with an empty passphrase: its stack file holds no secret. */
export const DEV_STACK = "dev";

export interface Backend {
    /** PULUMI_BACKEND_URL as the CLI gets it, or LOGIN_BACKEND (the CLI's login decides). */
    readonly url: string;
    /** The local file backend of the project (not from PULUMI_BACKEND_URL). */
    readonly projectLocal: boolean;
    /** The folder of a file:// backend (undefined for other backends). */
    readonly dir?: string;
    /** Environment for the CLI, over this process's. */
    readonly envVars: Readonly<Record<string, string>>;
    /** What was chosen for the operator, one line each. */
    readonly notes: readonly string[];
}

function isSet(env: NodeJS.ProcessEnv, key: string): boolean {
    return env[key] !== undefined;
}

/**
 * The backend and CLI environment of `stack` in the project `repo`. `secretsProvider` is the
 * stack file's top-level `secretsprovider:` (undefined: the backend's default). Throws a
 * CliError naming the variables when a passphrase is needed and none is set.
 */
export function backendFor(repo: string, stack: string, env: NodeJS.ProcessEnv, secretsProvider?: string): Backend {
    const given = env.PULUMI_BACKEND_URL !== undefined && env.PULUMI_BACKEND_URL !== "" ? env.PULUMI_BACKEND_URL : undefined;
    const envVars: Record<string, string> = { PULUMI_SKIP_UPDATE_CHECK: "true" };
    if (given === undefined && stack !== DEV_STACK) {
        return { url: LOGIN_BACKEND, projectLocal: false, envVars, notes: [`backend: the Pulumi CLI's login (pulumi login; or set PULUMI_BACKEND_URL)`] };
    }
    const projectLocal = given === undefined;
    const url = given ?? `file://${path.join(repo, LOCAL_BACKEND_DIR)}`;
    envVars.PULUMI_BACKEND_URL = url;
    const dir = url.startsWith("file://") ? url.slice("file://".length).replace(/^~(?=\/|$)/, env.HOME ?? "~") : undefined;
    const notes = [
        projectLocal ? `backend: ${url} (the project's local file backend for dev; set PULUMI_BACKEND_URL for another)` : `backend: ${url} (PULUMI_BACKEND_URL)`,
    ];
    const selfManaged = !/^https?:\/\//.test(url);
    const passphraseProvider = secretsProvider === undefined || secretsProvider === "passphrase";
    if (selfManaged && passphraseProvider && !isSet(env, "PULUMI_CONFIG_PASSPHRASE") && !isSet(env, "PULUMI_CONFIG_PASSPHRASE_FILE")) {
        if (stack !== DEV_STACK) {
            throw new CliError(
                EXIT.USAGE,
                `stack ${stack}: the backend ${url} keeps secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE ` +
                    `(only the dev stack, which holds no secret, runs with an empty one)`,
            );
        }
        envVars.PULUMI_CONFIG_PASSPHRASE = "";
        notes.push(`secrets: an empty passphrase (the dev stack holds no secret; set PULUMI_CONFIG_PASSPHRASE to use your own)`);
    }
    return { url, projectLocal, dir, envVars, notes };
}
