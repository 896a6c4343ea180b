/**
 * The CrossGuard policy pack: `pulumi preview --policy-pack policies`. The only module that
 * constructs the PolicyPack (constructing it starts the policy server); the policies live in
 * one module per family and are listed in pack.ts.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES } from "./pack";

new PolicyPack(PACK_NAME, {
    policies: POLICIES,
    enforcementLevel: PACK_ENFORCEMENT_LEVEL,
    description: "Safety rules of the phase-by-phase migration of Proxmox VE networking from Perl to Rust.",
});
