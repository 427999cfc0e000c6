/**
 * The kit run as every strategy runs it: per-page (the reference, against itself) with
 * 1000 property runs, and the kit's own correct batching strategy as the positive control
 * for batching (fewer deferred splits are allowed, nothing else may differ).
 */

import { perPage } from "@foliolab/strategy-per-page";
import { describeStrategyConformance } from "./index.js";
import { batchedReference } from "./mutants.js";

describeStrategyConformance(perPage, { numRuns: 1000 });
describeStrategyConformance(batchedReference, { numRuns: 300 });
