// Minimal typings for @iden3/binfileutils, the section-structured file format of ptau/zkey/r1cs files.
declare module "@iden3/binfileutils" {
  /** A fastfile handle: sequential reads/writes at `pos`. */
  export interface BinFile {
    pos: number;
    read(length: number, pos?: number): Promise<Uint8Array>;
    write(buffer: Uint8Array, pos?: number): Promise<void>;
    writeULE32(value: number, pos?: number): Promise<void>;
    close(): Promise<void>;
  }
  /** `sections[id]` lists every section with that id: its data offset and byte length. */
  export type Sections = Array<Array<{ p: number; size: number }> | undefined>;
  export function readBinFile(
    fileName: string,
    type: string,
    maxVersion: number,
  ): Promise<{ fd: BinFile; sections: Sections }>;
  export function createBinFile(fileName: string, type: string, version: number, nSections: number): Promise<BinFile>;
  export function startWriteSection(fd: BinFile, idSection: number): Promise<void>;
  export function endWriteSection(fd: BinFile): Promise<void>;
  export function copySection(fdFrom: BinFile, sections: Sections, fdTo: BinFile, idSection: number): Promise<void>;
  export function readSection(fd: BinFile, sections: Sections, idSection: number): Promise<Uint8Array>;
}
