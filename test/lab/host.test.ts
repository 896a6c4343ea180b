/**
 * The lab's process probe against real execve calls: a process inside execve reads an empty
 * /proc/<pid>/cmdline for a moment, and the lab once reported a booting node as exited because of
 * it (CI, stop 24: "systemd-nspawn exited while waiting", with an empty console log).
 */
import { spawn } from "child_process";
import { processAlive } from "../../lab/host";

const isOurs = (argv: string[]) => (argv[0] === "sh" || argv[0] === "sleep") && argv.includes("30");

describe("processAlive across a real execve (sh -c 'exec sleep 30')", () => {
    it("answers alive on every probe from spawn through exec, 100 processes", async () => {
        const misses: string[] = [];
        for (let i = 0; i < 100; i++) {
            const child = spawn("sh", ["-c", "exec sleep 30", "probe", "30"], { stdio: "ignore" });
            const pid = child.pid as number;
            const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
            // The first 20 ms hold the exec: sh starts, then becomes sleep (empty reads seen in
            // 128 of 300 such starts on this machine with a plain read).
            const end = Date.now() + 20;
            let probes = 0;
            while (Date.now() < end) {
                probes++;
                if (!processAlive(pid, isOurs)) {
                    misses.push(`process ${i} probe ${probes}`);
                    break;
                }
            }
            child.kill("SIGKILL");
            await exited;
            expect(processAlive(pid, isOurs)).toBe(false);
        }
        expect(misses).toEqual([]);
    });

    it("a process that exited, and one whose command line does not match, are not alive", async () => {
        const child = spawn("sleep", ["30"], { stdio: "ignore" });
        const pid = child.pid as number;
        expect(processAlive(pid, (argv) => argv[0] === "sleep" && argv[1] === "30")).toBe(true);
        expect(processAlive(pid, (argv) => argv[0] === "systemd-nspawn")).toBe(false);
        const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
        child.kill("SIGKILL");
        await exited;
        expect(processAlive(pid, () => true)).toBe(false);
    });
});
