/**
 * Kubernetes blue-green (README "Blue-green on Kubernetes", seed 003): typed config, color operations for
 * `migration-ctl color get|set|flip`, the registration plan, and the component.
 */
export type { BlueGreenConfig, BlueGreenConfigInput, Color, ColorRelease, LastFlip } from "../config/bluegreen";
export {
    BlueGreenConfigSchema,
    COLORS,
    CONFIG_KEY,
    DEFAULT_CHART_PATH,
    KUBECONFIG_KEY,
    holdsRollbackTarget,
    idleColor,
    otherColor,
    parseBlueGreenConfig,
    quantity,
} from "../config/bluegreen";
export type { ColorChange, ColorFragment, ColorStatus } from "./colors";
export {
    applyColorFragment,
    colorStatus,
    effectiveReplicas,
    flipColor,
    formatColorStatus,
    idleReplicas,
    idleScaleDownAt,
    isoSeconds,
    setColor,
    setRollbackTarget,
    validateFlip,
} from "./colors";
export type { BlueGreenPlan, ReleasePlan, ReleaseValues, ServicePlan } from "./plan";
export { ANNOTATION_ROLLBACK_TARGET, LABEL_COLOR, LABEL_PART_OF, LABEL_ROLE, chartRef, planBlueGreen, releaseValues } from "./plan";
export type { BlueGreenReleaseArgs } from "./release";
export { BLUE_GREEN_TYPE, BlueGreenRelease, checkLocalChart } from "./release";
