import * as fs from "fs";
import * as path from "path";

/** Write `data` to `file` atomically: a temp file in the same folder, fsync, then rename. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
    const fd = fs.openSync(tmp, "wx", mode);
    try {
        fs.writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    try {
        fs.renameSync(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
}
