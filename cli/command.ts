/**
 * Declarations of commands and the one way every CLI of this repository runs them, on
 * commander (https://github.com/tj/commander.js, v14, CommonJS).
 *
 * A CLI is a `ToolDecl`: its global options and a list of `CommandDecl`, one per command or
 * sub-command (`"phase set"`); a single-command tool has one declaration named "". Options,
 * arguments, help and exit codes come from the declarations; commander generates the help.
 * Adding a sub-command = one declaration in its own module and one line in the tool's list.
 *
 * commander's own errors (unknown option, missing value, unknown command) become one UsageError
 * line naming the argument; commander never writes to the terminal itself and never exits
 * (`exitOverride`, `configureOutput`: lib/command.js `_exit` and `_outputConfiguration`).
 */
import { Command, CommanderError, Option } from "commander";
import { EXIT, UsageError, reportError } from "./errors";
import { packageVersion } from "./version";

export interface OptionDecl {
    /** commander flags: `--stack <S>`, `--json`, `--node <N>` (with repeatable). */
    readonly flags: string;
    readonly description: string;
    /** May be given more than once; the value is the list. */
    readonly repeatable?: boolean;
    /** A default shown in the help and used when the option is absent. */
    readonly default?: string | boolean;
}

export interface ArgDecl {
    readonly name: string;
    readonly description: string;
    readonly optional?: boolean;
}

export interface Io {
    readonly stdout: (s: string) => void;
    readonly stderr: (s: string) => void;
    readonly cwd: string;
    readonly env: NodeJS.ProcessEnv;
    /** Whether stderr is a terminal (progress lines are written only then). */
    readonly stderrIsTTY?: boolean;
}

export interface RunContext<I extends Io = Io> {
    /** The command's positional arguments, as declared. */
    readonly args: readonly string[];
    /** Option values by camel-case name, global options included. */
    readonly opts: Readonly<Record<string, unknown>>;
    readonly io: I;
}

export interface CommandDecl<I extends Io = Io> {
    /** Command words: "" (single-command tool), "health", "phase set". */
    readonly name: string;
    /** One line for the parent's command list. */
    readonly summary: string;
    readonly args?: readonly ArgDecl[];
    readonly options?: readonly OptionDecl[];
    /** Text after the option list in `--help`. */
    readonly help?: string;
    readonly run: (ctx: RunContext<I>) => Promise<number> | number;
}

export interface ToolDecl<I extends Io = Io> {
    readonly name: string;
    readonly description: string;
    readonly globalOptions?: readonly OptionDecl[];
    /** Summaries of command groups ("phase": "configured and deployed phase"). */
    readonly groups?: Readonly<Record<string, string>>;
    readonly commands: readonly CommandDecl<I>[];
    /** Text after every help (exit codes). */
    readonly footer: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
    return [...(previous ?? []), value];
}

function addOption(cmd: Command, o: OptionDecl): void {
    const opt = new Option(o.flags, o.description);
    if (o.repeatable) opt.argParser(collect);
    if (o.default !== undefined) opt.default(o.default);
    cmd.addOption(opt);
}

/** `phase set` -> `migration-ctl phase set`. */
const fullName = (tool: string, words: string) => (words === "" ? tool : `${tool} ${words}`);

interface Built {
    readonly program: Command;
    /** Set by an action: the promise of its exit code. */
    result?: Promise<number>;
    /** The command words of the command commander last reached (for error hints). */
    reached: string;
}

function build<I extends Io>(tool: ToolDecl<I>, io: I): Built {
    const built: Built = { program: new Command(tool.name), reached: "" };
    const configure = (c: Command, words: string) => {
        c.exitOverride()
            .configureOutput({ writeOut: io.stdout, writeErr: () => undefined, outputError: () => undefined })
            .configureHelp({ showGlobalOptions: true, sortSubcommands: false, helpWidth: 110 })
            .helpCommand(false)
            .allowExcessArguments(true)
            .hook("preSubcommand", (_t, sub) => {
                built.reached = `${words === "" ? "" : `${words} `}${sub.name()}`;
            });
    };
    const p = built.program;
    configure(p, "");
    p.description(tool.description).version(packageVersion(), "--version", "print the version and exit");
    for (const o of tool.globalOptions ?? []) addOption(p, o);
    const groups = new Map<string, Command>();
    const missingSub = (words: string, c: Command) => {
        c.action((...a: unknown[]) => {
            const extra = (a[a.length - 1] as Command).args;
            const subs = c.commands.map((s) => s.name()).join(", ");
            const what = words === "" ? "command" : "sub-command";
            const where = words === "" ? "" : `${words}: `;
            if (extra.length === 0) throw new UsageError(`${where}missing ${what} (${subs})`);
            throw new UsageError(`${where}unknown ${what} ${JSON.stringify(extra[0])} (${subs})`);
        });
    };
    for (const d of tool.commands) {
        let cmd: Command;
        if (d.name === "") {
            cmd = p;
        } else {
            const words = d.name.split(" ");
            let parent = p;
            for (let i = 0; i < words.length - 1; i++) {
                const key = words.slice(0, i + 1).join(" ");
                let g = groups.get(key);
                if (g === undefined) {
                    g = parent.command(words[i]).description(tool.groups?.[key] ?? "");
                    configure(g, key);
                    missingSub(key, g);
                    groups.set(key, g);
                }
                parent = g;
            }
            cmd = parent.command(words[words.length - 1]).description(d.summary);
            configure(cmd, d.name);
        }
        if (d.name !== "") cmd.summary(d.summary);
        const argDecls = d.args ?? [];
        for (const a of argDecls) cmd.argument(a.optional ? `[${a.name}]` : `<${a.name}>`, a.description);
        for (const o of d.options ?? []) addOption(cmd, o);
        if (d.help !== undefined) cmd.addHelpText("after", `\n${d.help}`);
        cmd.action((...a: unknown[]) => {
            const self = a[a.length - 1] as Command;
            const label = d.name === "" ? "" : `${d.name}: `;
            const args = self.args;
            if (args.length > argDecls.length) throw new UsageError(`${label}unexpected argument ${JSON.stringify(args[argDecls.length])}`);
            built.reached = d.name;
            built.result = Promise.resolve(d.run({ args: self.processedArgs.filter((x) => x !== undefined) as string[], opts: self.optsWithGlobals(), io }));
        });
    }
    if (!tool.commands.some((d) => d.name === "")) missingSub("", p);
    const footer = (c: Command): void => {
        c.addHelpText("after", `\n${tool.footer}`);
        c.commands.forEach(footer);
    };
    footer(p);
    return built;
}

/** commander's error message as one line naming the argument. */
function usageMessage(e: CommanderError, reached: string): string {
    const label = reached === "" ? "" : `${reached}: `;
    const m = e.message.replace(/^error: /, "").split("\n")[0];
    let r: RegExpExecArray | null;
    if ((r = /^unknown option '(--[^'=]+)=([^']*)'/.exec(m)))
        return `${label}${r[1]} takes no value (got ${JSON.stringify(r[2])}), or is not a flag of this command`;
    if ((r = /^unknown option '([^']+)'/.exec(m))) return `${label}unknown flag ${r[1]}`;
    if ((r = /^option '(-\S+)(?:, (--\S+))?[^']*' argument missing/.exec(m))) return `${label}${r[2] ?? r[1]} needs a value`;
    if ((r = /^missing required argument '([^']+)'/.exec(m))) return `${label}missing <${r[1]}>`;
    if ((r = /^required option '([^' ]+)[^']*' not specified/.exec(m))) return `${label}${r[1]} is required`;
    return `${label}${m}`;
}

/** The help text of `words` ("" for the tool), as `--help` prints it. */
export function helpText<I extends Io>(tool: ToolDecl<I>, words: string, io: I): string {
    let text = "";
    let c = build(tool, { ...io, stdout: (s: string) => (text += s) }).program;
    for (const w of words === "" ? [] : words.split(" ")) {
        const next = c.commands.find((s) => s.name() === w);
        if (next === undefined) throw new Error(`${tool.name}: no command ${words}`);
        c = next;
    }
    c.outputHelp();
    return text;
}

/**
 * Parse `argv` and start the command it names: the promise of its exit code (undefined after
 * --help or --version). Throws a UsageError for a bad command line, synchronously.
 */
function dispatch<I extends Io>(tool: ToolDecl<I>, argv: readonly string[], io: I, built: Built): Promise<number> | undefined {
    // `<tool> help [words...]` is `<tool> [words...] --help`.
    const args = argv[0] === "help" && tool.commands.some((d) => d.name !== "") ? [...argv.slice(1), "--help"] : [...argv];
    try {
        built.program.parse(args, { from: "user" });
    } catch (e) {
        if (e instanceof CommanderError) {
            if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return undefined;
            throw new UsageError(usageMessage(e, built.reached));
        }
        throw e;
    }
    return built.result;
}

/** Parse `argv` and run the command synchronously as far as it is synchronous (for tests of a tool's argument checks). */
export function parseOnly<I extends Io>(tool: ToolDecl<I>, argv: readonly string[], io: I): void {
    void dispatch(tool, argv, io, build(tool, io));
}

/** Run `tool` on `argv` (without the program name); returns the exit code, never throws, never exits. */
export async function runTool<I extends Io>(tool: ToolDecl<I>, argv: readonly string[], io: I): Promise<number> {
    let built: Built | undefined;
    try {
        built = build(tool, io);
        return (await dispatch(tool, argv, io, built)) ?? EXIT.OK;
    } catch (e) {
        return reportError(tool.name, e, io, `see ${fullName(tool.name, built?.reached ?? "")} --help`);
    }
}

/** The process's Io. */
export function processIo(): Io {
    return {
        stdout: (s) => process.stdout.write(s),
        stderr: (s) => process.stderr.write(s),
        cwd: process.env.INIT_CWD !== undefined && process.env.npm_lifecycle_event !== undefined ? process.env.INIT_CWD : process.cwd(),
        env: process.env,
        stderrIsTTY: process.stderr.isTTY === true,
    };
}
