/**
 * Long-term GUP pins (mm/gup.c, Linux 6.18), as io_uring fixed buffers take them:
 * pin_user_pages(FOLL_PIN | FOLL_LONGTERM [| FOLL_WRITE]). A write pin breaks COW first; a
 * read-only pin of a shared anon page unshares it. A small folio's refcount rises by
 * GUP_PIN_COUNTING_BIAS, a large folio's by one plus its _pincount.
 */

import { Ev } from "./costs.js";
import { accessPage, unshareAnonPage } from "./fault.js";
import { folioPincount, folioPutRefs, folioRefAdd, folioSetPincount } from "./folio.js";
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm.js";
import { GUP_PIN_COUNTING_BIAS } from "./rmap.js";

/** try_grab_folio(FOLL_PIN). */
function grabPin(k: Kernel, folio: number): void {
  if ((k.mem.order[folio] as number) >= 2) {
    folioRefAdd(k, folio, 1);
    folioSetPincount(k.mem, folio, folioPincount(k.mem, folio) + 1);
    k.costs[Ev.refcountAtomic]++;
  } else {
    folioRefAdd(k, folio, GUP_PIN_COUNTING_BIAS);
  }
}

/** Pin the page at vpn; returns its pfn (the zero page is never pinned for write). */
export function pinUserPage(k: Kernel, mm: MmStruct, vpn: number, write: boolean): number {
  let pfn = accessPage(k, mm, vpn, write);
  if (!write) {
    const shared = unshareAnonPage(k, mm, vpn);
    if (shared >= 0) pfn = shared;
  }
  if (k.mem.isReserved(pfn)) return pfn;
  grabPin(k, k.mem.pageFolio(pfn));
  mm.hasPinned = true;
  mm.pins.push({ vpn, pfn });
  return pfn;
}

/** unpin_user_page() for every pin this process took in [start, end). */
export function unpinUserPages(k: Kernel, mm: MmStruct, start: number, end: number): void {
  const keep: typeof mm.pins = [];
  for (const pin of mm.pins) {
    if (pin.vpn < start || pin.vpn >= end) {
      keep.push(pin);
      continue;
    }
    const folio = k.mem.pageFolio(pin.pfn);
    if ((k.mem.order[folio] as number) >= 2) {
      folioSetPincount(k.mem, folio, folioPincount(k.mem, folio) - 1);
      k.costs[Ev.refcountAtomic]++;
      folioPutRefs(k, folio, 1);
    } else {
      folioPutRefs(k, folio, GUP_PIN_COUNTING_BIAS);
    }
  }
  mm.pins = keep;
}
