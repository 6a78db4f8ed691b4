/** The bag attributes that link a certificate to its key and name them: localKeyId and friendlyName. */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { der, OID, octetString } from "./asn1.ts";

export interface BagAttributes {
  friendlyName?: string;
  localKeyId?: Buffer;
}

/** friendlyName and localKeyId, as a DER SET OF (sorted by encoding). */
export function bagAttributes(friendlyName: string, localKeyId: Buffer): pkijs.Attribute[] {
  return [
    new pkijs.Attribute({ type: OID.friendlyName, values: [new asn1js.BmpString({ value: friendlyName })] }),
    new pkijs.Attribute({ type: OID.localKeyId, values: [octetString(localKeyId)] }),
  ].sort((a, b) => Buffer.compare(der(a), der(b)));
}

export function readBagAttributes(bag: pkijs.SafeBag): BagAttributes {
  const attributes: BagAttributes = {};
  for (const attribute of bag.bagAttributes ?? []) {
    const value = attribute.values[0];
    if (attribute.type === OID.friendlyName && value instanceof asn1js.BmpString) {
      attributes.friendlyName = value.valueBlock.value;
    } else if (attribute.type === OID.localKeyId && value instanceof asn1js.OctetString) {
      attributes.localKeyId = Buffer.from(value.getValue());
    }
  }
  return attributes;
}
