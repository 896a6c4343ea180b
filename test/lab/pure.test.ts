/** The node lab's pure parts: the mirror apt uses, the cache keys, the host checks, the metrics text. */
import * as path from "path";
import { debianMirror, rootPaths, PACKAGES } from "../../lab/root";
import { checkHost } from "../../lab/host";
import { renderStandInMetrics } from "../../components/sandbox";

describe("debianMirror", () => {
    it.each([
        [
            "deb822 .sources: the bookworm stanza, not -security",
            [
                {
                    name: "debian.sources",
                    text: "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n",
                },
            ],
            "http://deb.debian.org/debian",
        ],
        [
            "one-line .list with options",
            [{ name: "sources.list", text: "# comment\ndeb [arch=amd64] https://mirror.example.org/debian bookworm main contrib\n" }],
            "https://mirror.example.org/debian",
        ],
        [
            "a third-party list before the Debian one is skipped",
            [
                { name: "google.list", text: "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n" },
                { name: "debian.sources", text: "Types: deb\nURIs: http://ftp.de.debian.org/debian\nSuites: bookworm\nComponents: main\n" },
            ],
            "http://ftp.de.debian.org/debian",
        ],
    ])("%s", (_name, files, want) => {
        expect(debianMirror(files)).toBe(want);
    });

    it("names where it looked when no mirror serves bookworm main", () => {
        expect(() => debianMirror([{ name: "x.list", text: "deb http://deb.debian.org/debian bullseye main\n" }])).toThrow(
            "no Debian mirror for bookworm (main) in /etc/apt/sources.list or /etc/apt/sources.list.d/*",
        );
    });
});

describe("rootPaths", () => {
    it("keys the cache folders by the sha256 of their inputs", () => {
        const a = rootPaths("http://deb.debian.org/debian", "/c");
        const b = rootPaths("http://deb.debian.org/debian", "/c");
        const c = rootPaths("http://ftp.de.debian.org/debian", "/c");
        expect(a).toEqual(b);
        expect(path.dirname(a.base)).toBe("/c");
        expect(path.basename(a.base)).toMatch(/^base-[0-9a-f]{64}$/);
        expect(path.basename(a.root)).toMatch(/^root-[0-9a-f]{64}$/);
        expect(c.base).not.toBe(a.base);
        expect(c.root).not.toBe(a.root);
        expect(PACKAGES).toEqual(expect.arrayContaining(["systemd", "openssh-server", "ifupdown2", "sudo", "busybox", "curl"]));
    });
});

describe("checkHost", () => {
    it("refuses a non-root user", () => {
        expect(() => checkHost({ uid: 1000, exists: () => true })).toThrow(
            "lab: the node lab needs root (systemd-nspawn, overlay mounts, a bridge); run it as root",
        );
    });
    it("names each missing tool and its package", () => {
        expect(() => checkHost({ uid: 0, exists: (t) => t !== "systemd-nspawn" && t !== "debootstrap" })).toThrow(
            "lab: systemd-nspawn is missing: install systemd-container; debootstrap is missing: install debootstrap",
        );
    });
    it("passes when root has every tool", () => {
        expect(checkHost({ uid: 0, exists: () => true })).toBeUndefined();
    });
});

describe("renderStandInMetrics", () => {
    it("renders the three series", () => {
        expect(renderStandInMetrics({ fallbacks: 2, applySum: 1.5, applyCount: 3 })).toBe(
            [
                "# HELP pve_network_fallback_total Requests answered by Perl after the Rust path failed (stand-in value).",
                "# TYPE pve_network_fallback_total counter",
                "pve_network_fallback_total 2",
                "# HELP pve_network_apply_duration_seconds Duration of network applies (stand-in values).",
                "# TYPE pve_network_apply_duration_seconds summary",
                "pve_network_apply_duration_seconds_sum 1.5",
                "pve_network_apply_duration_seconds_count 3",
                "",
            ].join("\n"),
        );
    });
    it("refuses a negative or fractional count, naming the field", () => {
        expect(() => renderStandInMetrics({ fallbacks: -1, applySum: 0, applyCount: 0 })).toThrow("metrics.fallbacks: must be a finite number >= 0, got -1");
        expect(() => renderStandInMetrics({ fallbacks: 0, applySum: 0, applyCount: 1.5 })).toThrow("metrics.applyCount: must be an integer, got 1.5");
    });
});
