/**
 * The policy pack's definition: its name and every policy, in one list. Importing this module
 * starts nothing; only index.ts constructs the PolicyPack (which starts the policy server).
 */
import { EnforcementLevel, Policies } from "@pulumi/policy";
import { backupBeforeWrite } from "./backups";
import { blueGreenSafe } from "./bluegreen";
import { clusterFileWriters } from "./cluster";
import { soakAndEvidence } from "./evidence";
import { backupRetention, logMigrationDecisions } from "./hygiene";
import { fallbackEnabled, perlApi } from "./migration-config";
import { packagePinned } from "./pinned-package";
import { phaseTransition, transitionRecord } from "./phases";
import { ringOrder } from "./rings";
import { noPlaintextSecrets } from "./secrets";
import { clusterFileSingleWriter, snapshotTakesBackup, stepPhases } from "./steps";
import { changeWindow } from "./windows";

export const PACK_NAME = "pve-network-migration";

/** Level of a policy that sets none (every policy here sets its own). */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

/**
 * Resource policies first (each stops its resource before it is created, in `pulumi up
 * --skip-preview` too), then the stack policies, which run only after every step.
 */
export const POLICIES: Policies = [
    phaseTransition,
    stepPhases,
    snapshotTakesBackup,
    ringOrder,
    soakAndEvidence,
    changeWindow,
    fallbackEnabled,
    perlApi,
    packagePinned,
    noPlaintextSecrets,
    clusterFileSingleWriter,
    logMigrationDecisions,
    backupRetention,
    transitionRecord,
    backupBeforeWrite,
    clusterFileWriters,
    blueGreenSafe,
];
