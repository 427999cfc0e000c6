// The conformance kit: invariants, equivalence with per-page, bug replays, 1000 random sequences.
import { describeStrategyConformance } from "@foliolab/testkit";
import { folioBatch } from "./index.js";

describeStrategyConformance(folioBatch, { seed: 20261122 });
