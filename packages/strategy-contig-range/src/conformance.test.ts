// The conformance kit: invariants, equivalence with per-page, bug replays, 1000 random sequences.
import { describeStrategyConformance } from "@foliolab/testkit";
import { contigRange } from "./index.js";

describeStrategyConformance(contigRange, { seed: 20261122 });
