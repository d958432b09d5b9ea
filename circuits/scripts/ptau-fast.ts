import * as binFile from "@iden3/binfileutils";
import type { Bn128 } from "./ptau-curve";
import { multiplyGenerator, type GroupName } from "./ptau-generator";
import { lagrangeScalars } from "./ptau-lagrange";
import type { PtauSecrets } from "./ptau-secrets";

/** Sections of a ptau file (snarkjs numbering). 2–6: the accumulator; 7: contributions; 12–15: Lagrange basis. */
export const SECTION = {
  header: 1,
  tauG1: 2,
  tauG2: 3,
  alphaTauG1: 4,
  betaTauG1: 5,
  betaG2: 6,
  contributions: 7,
  lagrangeTauG1: 12,
  lagrangeTauG2: 13,
  lagrangeAlphaTauG1: 14,
  lagrangeBetaTauG1: 15,
} as const;

/** What a Lagrange section holds: which group, and which secret multiplies every L_i(τ). */
interface LagrangeSection {
  readonly id: number;
  readonly name: string;
  readonly group: GroupName;
  readonly factor: (s: PtauSecrets) => bigint;
  /** tauG1 also has the domain of size 2^(power+1), built from its 2^(power+1) − 1 powers. */
  readonly extraPower: boolean;
}

const LAGRANGE_SECTIONS: readonly LagrangeSection[] = [
  { id: SECTION.lagrangeTauG1, name: "tauG1", group: "G1", factor: () => 1n, extraPower: true },
  { id: SECTION.lagrangeTauG2, name: "tauG2", group: "G2", factor: () => 1n, extraPower: false },
  { id: SECTION.lagrangeAlphaTauG1, name: "alphaTauG1", group: "G1", factor: (s) => s.alpha, extraPower: false },
  { id: SECTION.lagrangeBetaTauG1, name: "betaTauG1", group: "G1", factor: (s) => s.beta, extraPower: false },
];

export type Progress = (message: string) => void;

/** Reads the power from a ptau header (section 1: n8, q, power, ceremonyPower). */
async function readPower(fd: binFile.BinFile, sections: binFile.Sections): Promise<number> {
  const header = sections[SECTION.header]?.[0];
  if (!header) throw new Error("ptau file has no header");
  const bytes = await fd.read(header.size, header.p);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n8 = view.getUint32(0, true);
  return view.getUint32(4 + n8, true);
}

/** Checks the first points of the accumulator against the secrets, so a wrong derivation fails loudly. */
async function assertSecretsMatch(
  curve: Bn128,
  fd: binFile.BinFile,
  sections: binFile.Sections,
  secrets: PtauSecrets,
): Promise<void> {
  const checks: Array<[number, number, GroupName, bigint, string]> = [
    [SECTION.tauG1, 1, "G1", secrets.tau, "tau·G1"],
    [SECTION.tauG2, 1, "G2", secrets.tau, "tau·G2"],
    [SECTION.alphaTauG1, 0, "G1", secrets.alpha, "alpha·G1"],
    [SECTION.betaTauG1, 0, "G1", secrets.beta, "beta·G1"],
    [SECTION.betaG2, 0, "G2", secrets.beta, "beta·G2"],
  ];
  for (const [id, index, group, scalar, label] of checks) {
    const section = sections[id]?.[0];
    if (!section) throw new Error(`ptau file has no section ${id}`);
    const size = curve[group].F.n8 * 2;
    const inFile = await fd.read(size, section.p + index * size);
    const expected = await multiplyGenerator(curve, group, [scalar]);
    if (Buffer.compare(Buffer.from(inFile), Buffer.from(expected)) !== 0) {
      throw new Error(`the secrets do not match the ptau file (${label} differs)`);
    }
  }
}

/**
 * Phase-2 preparation when the secrets are known: copies sections 1–7 of `inputFile` (an accumulator
 * made with `secrets`, e.g. by a beacon contribution) and writes the Lagrange sections 12–15 as
 * L_i(τ)·G for every domain size 2^0 … 2^power, instead of snarkjs's group FFTs. The output is the
 * file `snarkjs powersoftau prepare phase2` writes, byte for byte.
 */
export async function preparePhase2WithSecrets(
  curve: Bn128,
  inputFile: string,
  outputFile: string,
  secrets: PtauSecrets,
  progress: Progress,
): Promise<void> {
  const { fd: input, sections } = await binFile.readBinFile(inputFile, "ptau", 1);
  try {
    const power = await readPower(input, sections);
    await assertSecretsMatch(curve, input, sections, secrets);
    const output = await binFile.createBinFile(outputFile, "ptau", 1, 11);
    try {
      for (let id = SECTION.header; id <= SECTION.contributions; id++) {
        await binFile.copySection(input, sections, output, id);
      }
      await writeLagrangeSections(curve, output, power, secrets, progress);
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * Appends sections 12–15: for every domain size 2^0 … 2^power (and 2^(power+1) for tauG1), the points
 * L_i(τ)·G (times α or β for sections 14 and 15), in the order snarkjs's `prepare phase2` writes them.
 */
export async function writeLagrangeSections(
  curve: Bn128,
  output: binFile.BinFile,
  power: number,
  secrets: PtauSecrets,
  progress: Progress,
): Promise<void> {
  const r = curve.r;
  const domainScalars = new Map<number, bigint[]>();
  const scalarsFor = (p: number): bigint[] => {
    let scalars = domainScalars.get(p);
    if (!scalars) {
      const omega = curve.Fr.toObject(curve.Fr.w[p]!);
      scalars = lagrangeScalars(secrets.tau, 2 ** p, omega, r, p === power + 1);
      domainScalars.set(p, scalars);
    }
    return scalars;
  };
  for (const section of LAGRANGE_SECTIONS) {
    await binFile.startWriteSection(output, section.id);
    const factor = section.factor(secrets);
    const lastPower = section.extraPower ? power + 1 : power;
    for (let p = 0; p <= lastPower; p++) {
      const scalars = factor === 1n ? scalarsFor(p) : scalarsFor(p).map((s) => (s * factor) % r);
      await output.write(await multiplyGenerator(curve, section.group, scalars));
      progress(`lagrange ${section.name}: domain 2^${p} (${scalars.length} points)`);
    }
    await binFile.endWriteSection(output);
  }
}
