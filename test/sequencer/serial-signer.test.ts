import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet, parseEther } from "ethers";
import { SerialSigner } from "../../sequencer/proxy/serial-signer";

describe("SerialSigner: one L1 key forcing several transactions at once", () => {
  it("sends concurrent transactions one after the other, with consecutive nonces, and a failed one blocks nothing", async () => {
    const [funder] = await ethers.getSigners();
    const key = Wallet.createRandom().connect(ethers.provider);
    await (await funder!.sendTransaction({ to: key.address, value: parseEther("1") })).wait();
    const signer = new SerialSigner(key);
    expect(await signer.getAddress()).to.equal(key.address);
    const to = Wallet.createRandom().address;
    const sends = [1n, 2n, parseEther("5"), 3n, 4n].map((value) => signer.sendTransaction({ to, value }));
    const outcomes = await Promise.allSettled(sends);
    expect(outcomes.map((o) => o.status)).to.deep.equal([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    const sent = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    expect(sent.map((t) => t.nonce)).to.deep.equal([0, 1, 2, 3]);
    const receipts = await Promise.all(sent.map((t) => t.wait()));
    expect(receipts.map((r) => r!.status)).to.deep.equal([1, 1, 1, 1]);
    expect(await ethers.provider.getBalance(to)).to.equal(10n);
  });
});
