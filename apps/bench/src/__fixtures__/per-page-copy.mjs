// A custom strategy loaded from a file: the per-page strategy under another name.
import { perPage } from "@foliolab/strategy-per-page";

export default { ...perPage, name: "per-page-copy", description: "per-page, loaded from a file (test fixture)" };
