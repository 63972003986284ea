"""Drive the KMS's KMIP server with Debian's PyKMIP client (an implementation nobody on the project wrote).

Usage: /usr/bin/python3 pykmip_driver.py HOST PORT CERT KEY CA
Prints one JSON object: what each step returned, or the KMIP failure it got.
"""
import json
import sys

from kmip import enums
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure


def main():
    host, port, cert, key, ca = sys.argv[1:6]
    out = {}
    client = ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                             ssl_version="PROTOCOL_SSLv23",
                             config_file="/dev/null")
    with client:
        aes = client.create(enums.CryptographicAlgorithm.AES, 256, name="pykmip-aes")
        out["create"] = aes
        out["locate"] = client.locate(attributes=[
            client.attribute_factory.create_attribute(enums.AttributeType.NAME, "pykmip-aes")])
        attrs = client.get_attributes(aes, ["State", "Cryptographic Algorithm", "Cryptographic Length", "Name"])
        out["get_attributes"] = {a.attribute_name.value: str(a.attribute_value) for a in attrs[1]}
        out["activate"] = client.activate(aes) is None
        params = {"cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
                  "block_cipher_mode": enums.BlockCipherMode.GCM}
        plaintext = b"the quick brown fox, over KMIP"
        ciphertext, iv = client.encrypt(plaintext, uid=aes, cryptographic_parameters=params)
        out["encrypt"] = {"ciphertext_hex": ciphertext.hex(), "iv_hex": iv.hex()}
        out["decrypt"] = client.decrypt(ciphertext, uid=aes, cryptographic_parameters=params, iv_counter_nonce=iv).decode()
        tampered = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
        try:
            client.decrypt(tampered, uid=aes, cryptographic_parameters=params, iv_counter_nonce=iv)
            out["decrypt_tampered"] = "decrypted"
        except KmipOperationFailure as e:
            out["decrypt_tampered"] = e.reason.name

        public, private = client.create_key_pair(enums.CryptographicAlgorithm.ECDSA, 256, private_name="pykmip-ec")
        out["create_key_pair"] = {"public": public, "private": private}
        sign_params = {"cryptographic_algorithm": enums.CryptographicAlgorithm.ECDSA,
                       "hashing_algorithm": enums.HashingAlgorithm.SHA_256}
        message = b"a message to sign over KMIP"
        signature = client.sign(message, uid=private, cryptographic_parameters=sign_params)
        out["sign"] = len(signature)
        out["signature_verify"] = client.signature_verify(message, signature, uid=public, cryptographic_parameters=sign_params).name
        out["signature_verify_other_message"] = client.signature_verify(b"another message", signature, uid=public, cryptographic_parameters=sign_params).name

        hmac = client.create(enums.CryptographicAlgorithm.HMAC_SHA256, 256, name="pykmip-hmac")
        mac_uid, mac = client.mac(b"data to authenticate", uid=hmac, algorithm=enums.CryptographicAlgorithm.HMAC_SHA256)
        out["mac"] = {"uid": mac_uid, "length": len(mac)}

        try:
            client.get(aes)
            out["get"] = "returned material"
        except KmipOperationFailure as e:
            out["get"] = e.reason.name

        out["revoke"] = client.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid=aes) is None
        # The AES key still has a ciphertext out under its compromised version: the KMS refuses to retire it.
        try:
            client.destroy(aes)
            out["destroy_with_ciphertexts_out"] = "destroyed"
        except KmipOperationFailure as e:
            out["destroy_with_ciphertexts_out"] = e.reason.name
        out["revoke_hmac"] = client.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid=hmac) is None
        out["destroy"] = client.destroy(hmac) is None
        out["hmac"] = hmac
    print(json.dumps(out))


if __name__ == "__main__":
    main()
