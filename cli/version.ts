/** The version of this repository's package (package.json), for `--version` of every CLI. */
import * as fs from "fs";
import * as path from "path";

const PACKAGE_NAME = "pve-network-migration";

/** Walk up from `dir` to the package.json of this package (the same from cli/ and from its compiled copy). */
export function packageRoot(dir = __dirname): string {
    for (let d = dir; ; d = path.dirname(d)) {
        const file = path.join(d, "package.json");
        if (fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string }).name === PACKAGE_NAME) return d;
        if (path.dirname(d) === d) throw new Error(`no package.json of ${PACKAGE_NAME} above ${dir}`);
    }
}

export function packageVersion(): string {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}
