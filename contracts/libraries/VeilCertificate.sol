// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title VeilCertificate
 * @notice Veil's one majority certificate, mirrored by sequencer/chain/certificate.ts: EIP-712 signatures of
 * more than half of a cluster's members over one identical message (a Seal, for now). A certificate is what
 * makes an act of a view count: no single member, whatever view it claims, can produce one.
 * @dev Signatures are ordered by strictly ascending signer address, which rules out a signer counted twice
 * without a set. Clusters are small (the registry bounds them), so membership is a scan of the member list.
 */
library VeilCertificate {
    /// @notice The signers are not in strictly ascending order (or one signed twice).
    error CertificateSignersNotSorted();
    /// @notice A signer is not a member of the cluster.
    error CertificateSignerNotMember(address signer);
    /// @notice Fewer than a majority of the members signed.
    error CertificateBelowMajority(uint256 signers, uint256 members);

    /// @notice The least number of members that is more than half of `memberCount`.
    function majority(uint256 memberCount) internal pure returns (uint256) {
        return memberCount / 2 + 1;
    }

    /// @notice Checks that `signatures` over `digest` come from a majority of `members` and returns the
    /// signers, ascending. Reverts with the reason otherwise.
    /// @param digest the EIP-712 digest every signature signs.
    /// @param signatures 65-byte signatures ordered by strictly ascending signer.
    /// @param members the cluster's members.
    function verify(
        bytes32 digest,
        bytes[] calldata signatures,
        address[] memory members
    ) internal pure returns (address[] memory signers) {
        uint256 count = signatures.length;
        if (count < majority(members.length)) revert CertificateBelowMajority(count, members.length);
        signers = new address[](count);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= previous) revert CertificateSignersNotSorted();
            if (!_contains(members, signer)) revert CertificateSignerNotMember(signer);
            signers[i] = signer;
            previous = signer;
        }
    }

    function _contains(address[] memory members, address account) private pure returns (bool) {
        for (uint256 i = 0; i < members.length; ++i) {
            if (members[i] == account) return true;
        }
        return false;
    }
}
