/** `--help` texts of migration-ctl. Every flag listed here is implemented in cli.ts. */
import { PHASES } from "../phases";

export const EXIT_CODES = `exit codes:
  0   done (check, health: nothing wrong)
  1   check or health found violations (listed in the report)
  2   usage error (unknown command or flag, missing or bad value)
  3   unknown stack (no stacks/Pulumi.<stack>.yaml)
  4   unknown phase (or color)
  5   malformed YAML in a stack file (nothing written)
  6   invalid stack config (nothing written)
  7   unknown git revision (or not a git repository)
  8   change refused: illegal transition, ring order, not a lower phase, flip not possible
  9   file or git I/O error
  10  health: nothing wrong in the configured phases, but no stack's deployed phase is known (deployed checks not run)
  70  internal error`;

const GLOBAL = `global flags (any command):
  --repo DIR            repository holding stacks/ (default: git top level of the current folder, else the current folder)
  --now ISO             current time for soak arithmetic, e.g. 2025-06-01T12:00:00Z (default: the clock)
  --deployed-file FILE  deployed states instead of asking pulumi: JSON {"<stack>": <outputs>}, each
                        <outputs> as printed by pulumi stack output --json (phase, phaseEnteredAt, ...),
                        {} for a stack that never deployed; a stack the file does not list is not
                        known from it: reported as "unknown", nothing guessed
  -h, --help            this help

deployed phase: from --deployed-file; else pulumi stack output --json --stack <stack> when a pulumi
binary is on PATH (an upstream ring by its org/project/stack name); else "unknown (no pulumi CLI)".`;

const PHASE_LIST = `phases, in order: ${PHASES.join(", ")}`;

export const HELP: Record<string, string> = {
    main: `usage: migration-ctl <command> [flags]

Phase changes are changes of the stack files stacks/Pulumi.<stack>.yaml: made with this tool or by
hand, reviewed as a pull request (where migration-ctl check --base <rev> runs), merged, then
applied with pulumi up --stack <stack>.

commands:
  phase get [--stack S] [--json]                    configured (and deployed) phase of one or every stack
  phase set <phase> --stack S [--dry-run]           change a stack's configured phase; prints the diff
  rollback --stack S [--to PHASE] [--dry-run]       write the previous (or a given lower) phase
  plan --stack S [--from P | --base REV] [--to P] [--json]
                                                    which nodes change, which steps run on each, in order
  health [--json]                                   phase uniformity, ring order, soak of all stacks
  check --base REV [--json]                         check every stack config change since REV (pull requests)
  color get|set <blue|green>|flip --stack S         blue-green active color (pve-migration:blueGreen)
  diagnostics ...                                   diagnostics bundles: collect (--stack S) or compare two;
                                                    see migration-ctl diagnostics --help (its own exit codes:
                                                    0 done, 1 a node's collection failed, 2 usage or config error);
                                                    global flags go before the word: --repo DIR --now ISO diagnostics ...

Run migration-ctl <command> --help for details.

${GLOBAL}

${EXIT_CODES}
`,
    phase: `usage: migration-ctl phase get [--stack S] [--json]
       migration-ctl phase set <phase> --stack S [--dry-run]

Run migration-ctl phase get --help or migration-ctl phase set --help for details.

${EXIT_CODES}
`,
    "phase get": `usage: migration-ctl phase get [--stack S] [--json]

The configured phase (pve-migration:phase in stacks/Pulumi.<stack>.yaml) of one stack, or of every
stack, and the deployed phase where known. A stack whose deployed phase differs from its configured
one is marked "pending pulumi up".

  --stack S   only this stack
  --json      {"schemaVersion":1,"command":"phase get","stacks":[{"stack","file","phase","configValid",
              "deployed":{"known","phase","phaseEnteredAt","source","reason"},"error"}]}

${GLOBAL}

${EXIT_CODES}
`,
    "phase set": `usage: migration-ctl phase set <phase> --stack S [--dry-run]

Set pve-migration:phase in stacks/Pulumi.<S>.yaml, in place: only the value changes; comments, key
order and formatting stay byte for byte. Prints the change as a unified diff.

Refused (exit 8, file untouched):
  - a promotion of more than one phase (the reason names the next phase);
  - when the deployed phase is known: a promotion more than one phase past it;
  - a promotion that puts the ring ahead of its upstream's configured phase, or level with it
    before the upstream has soaked (ring.behindUntilSoaked); the upstream's soak is measured from
    its deployed phaseEnteredAt, else from its passing evidence for leaving its phase.
A rollback to any lower phase is always allowed (and, below rust-full, sets
pve-migration:fallbackEnabled back to true if it was false). Promotion gates that migration-ctl
check enforces (evidence, own soak) are shown as warnings.

  <phase>     ${PHASES.join(" | ")}
  --stack S   the stack to change (required)
  --dry-run   print the diff, write nothing

Then: commit, open a pull request (migration-ctl check --base <target branch> runs), merge,
pulumi up --stack S.

${GLOBAL}

${EXIT_CODES}
`,
    rollback: `usage: migration-ctl rollback --stack S [--to PHASE] [--dry-run]

Write a lower phase into stacks/Pulumi.<S>.yaml (same in-place edit and diff as phase set): the
phase before the configured one, or PHASE. A rollback is always allowed and needs no evidence;
pulumi up --stack S then runs the rollback steps (README "What runs on a node"), restoring the latest
verified backup when leaving the write phases for a non-write phase.

  --stack S    the stack to roll back (required)
  --to PHASE   the target phase; must be lower than the configured phase (else exit 8)
  --dry-run    print the diff, write nothing

${PHASE_LIST}

${GLOBAL}

${EXIT_CODES}
`,
    plan: `usage: migration-ctl plan --stack S [--from PHASE | --base REV] [--to PHASE] [--json]

Which nodes change and which steps run on each, in order, for the transition pulumi up --stack S
would make (README "What runs on a node"; components/plan). Touches nothing.

to:   the configured phase, or --to PHASE.
from: the deployed phase when known (--deployed-file or pulumi); else --from PHASE; else the
      phase configured at git revision --base REV (perl-only if the stack has no file there).
      The output says which.

  --stack S      the stack (required)
  --from PHASE   the phase the nodes are in, when the deployed phase is unknown
  --base REV     take the from-phase from the stack file at this git revision
  --to PHASE     plan towards this phase instead of the configured one
  --json         {"schemaVersion":1,"command":"plan","stack","cluster","scope","writerNode","from",
                 "fromSource","to","toSource","transition":{"kind","steps","backupRequired",
                 "restoreRequired"},"changingNodes":[],"nodes":[{"node","steps":[{"id","kind",
                 "dependsOn"}]}],"clusterSteps":[{"id","kind","node","dependsOn"}],"criticalPath":[]}

${GLOBAL}

${EXIT_CODES}
`,
    health: `usage: migration-ctl health [--json]

Checks all stacks together; exits 1 when something is wrong:
  - every stack file is valid YAML and a valid stack config;
  - stacks of one cluster with a cluster-wide migration config (migrationConfig.scope cluster)
    are in the same phase and use the same file (configured, and deployed where known);
    node-scoped canaries may differ; no node is in two stacks of a cluster;
  - ring order: every ring.upstream exists, no cycle, no ring ahead of its upstream, and no ring
    level with an upstream that has not soaked (behindUntilSoaked), configured and deployed;
  - evidence files of the current phases are valid.
Soak status per stack (time in phase, required soak, evidence for the next promotion) is shown.

  --json   {"schemaVersion":1,"command":"health","now","ok","problems":[],"stacks":[{"stack","file",
           "phase","deployed","cluster","scope","nodes","upstream","soak","notes"}]}

${GLOBAL}

${EXIT_CODES}
`,
    check: `usage: migration-ctl check --base REV [--json]

For pull requests: compares every stacks/Pulumi.<stack>.yaml at the merge base of HEAD and REV
(what the branch was made from) with the working tree and checks each change; exits 1 on any
violation, warns when REV has moved on since the merge base.
  promotion: at most one phase forward; ring order against the upstream's configured phase in the
    working tree (level with it only once it has soaked, when ring.behindUntilSoaked); evidence for
    leaving the base phase at stacks/evidence/<stack>/<base phase>.json present and passing
    (evaluated with the stack's soakSeconds, never less than at REV, its nodes and
    gates.maxLatencyRatio; not needed to leave perl-only, or with gates.requireEvidence false);
    evidence not collected after --now; when the deployed phase is known it must be the base
    phase, entered no later than the evidence says, and soaked.
  rollback: always allowed, no evidence needed.
  other changes: the config must stay valid. A new stack counts as a promotion from perl-only;
  removing a stack file is a violation unless it was in perl-only.

  --base REV   the pull request's target (e.g. origin/main); required. A single-branch CI clone
               fetches it first: git fetch origin +refs/heads/main:refs/remotes/origin/main
  --json       the report as JSON (schemaVersion 1):
               {"schemaVersion":1,"command":"check","base","mergeBase","now","ok","violationCount","warningCount","warnings":[],
                "stacks":[{"stack","file","change":"added|removed|modified|unchanged","changedKeys":[],
                "basePhase","phase","transition":{"kind","steps","backupRequired","restoreRequired"}|null,
                "deployed":{"known","phase","phaseEnteredAt","source","reason"},
                "upstream":{"stack","phase","enteredAt","enteredAtSource","soaked","soakSeconds"}|null,
                "evidence":{"path","required","notRequiredBecause","present","valid","passed",
                "soakedSeconds","requiredSoakSeconds","reasons":[]}|null,
                "violations":[],"warnings":[],"notes":[]}]}

${GLOBAL}

${EXIT_CODES}
`,
    color: `usage: migration-ctl color get --stack S [--json]
       migration-ctl color set <blue|green> --stack S [--dry-run]
       migration-ctl color flip --stack S [--dry-run]

The blue-green active color in pve-migration:blueGreen (components/bluegreen decides what a flip
may do and writes activeColor, lastFlip and rollbackTarget). set and flip edit the stack file in
place like phase set and print the diff; a refused flip exits 8 with the reason. Then: pull
request, merge, pulumi up --stack S.

  --stack S   the stack (required)
  --json      (get) the color status as JSON
  --dry-run   (set, flip) print the diff, write nothing

${GLOBAL}

${EXIT_CODES}
`,
};
