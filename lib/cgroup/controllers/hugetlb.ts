import { limitString, type HugetlbEntry, type Setting } from "../types.ts";

export function hugetlbSettings(hugetlb: HugetlbEntry[] | undefined): Setting[] {
  return (hugetlb ?? []).map((e) => ({
    controller: "hugetlb",
    file: `hugetlb.${e.pageSize}.max`,
    value: limitString(e.max),
  }));
}
