/** Test helpers for the gate tests: temp dirs, openssl-made certificates, free ports, spawning bins. */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { requireTools } from "../support/tools";

export const REPO = path.resolve(__dirname, "..", "..");

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Certs {
    readonly ca: string;
    readonly serverKey: string;
    readonly serverCert: string;
    /** A second CA that did not sign the server certificate. */
    readonly otherCa: string;
}

function openssl(dir: string, args: string[]): void {
    requireTools("openssl");
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, a server certificate for 127.0.0.1 / localhost signed by it, and an unrelated CA. */
export function makeCerts(dir: string): Certs {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(dir, [
        "req",
        "-x509",
        ...ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Test Cluster CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, [
        "req",
        "-x509",
        ...ec,
        "-keyout",
        "other.key",
        "-out",
        "other.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Other CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, ["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    fs.writeFileSync(
        path.join(dir, "ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    openssl(dir, [
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    return {
        ca: path.join(dir, "ca.pem"),
        serverKey: path.join(dir, "server.key"),
        serverCert: path.join(dir, "server.pem"),
        otherCa: path.join(dir, "other.pem"),
    };
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

export interface Spawned {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Run a compiled bin of this repository (e.g. dist/bin/contract-test.js, built by npm run build) to completion. */
export function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO): Promise<Spawned> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(REPO, bin), ...args], {
            cwd,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}
