/**
 * The policy pack's definition: its name and every policy, in one list. Importing this module
 * starts nothing; only index.ts constructs the PolicyPack (which starts the policy server).
 */
import { EnforcementLevel, Policies } from "@pulumi/policy";
import { backupBeforeWrite } from "./backups";
import { blueGreenSafe } from "./bluegreen";
import { clusterFileSingleWriter } from "./cluster";
import { soakAndEvidence } from "./evidence";
import { backupRetention, logMigrationDecisions } from "./hygiene";
import { fallbackEnabled, perlApi } from "./migration-config";
import { packagePinned } from "./pinned-package";
import { phaseTransition, transitionRecord } from "./phases";
import { ringOrder } from "./rings";
import { noPlaintextSecrets } from "./secrets";

export const PACK_NAME = "pve-network-migration";

/** Level of a policy that sets none (every policy here sets its own). */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

export const POLICIES: Policies = [
    phaseTransition,
    transitionRecord,
    backupBeforeWrite,
    ringOrder,
    soakAndEvidence,
    fallbackEnabled,
    perlApi,
    packagePinned,
    noPlaintextSecrets,
    clusterFileSingleWriter,
    blueGreenSafe,
    logMigrationDecisions,
    backupRetention,
];
